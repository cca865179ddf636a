"""The in-memory store: the most recent predictions of one server process."""

from collections import OrderedDict
from itertools import islice

from .contract import FeedbackCounts
from .groups import PredictionGroup
from .records import Feedback, MonitorRun, StoredPrediction


class MemoryStore:
    """Keeps the most recent predictions of this process; the oldest are evicted."""

    name = "memory"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.failed_writes = 0
        self.dropped = 0
        self.evicted = 0
        # Each prediction's group, by the prediction's id, the oldest first.
        self._items: OrderedDict[str, PredictionGroup] = OrderedDict()
        self._feedback: dict[str, Feedback] = {}
        self._counts = FeedbackCounts()
        self._monitor_run: MonitorRun | None = None

    async def save(self, group: PredictionGroup) -> None:
        self._items.update(dict.fromkeys(group.ids, group))
        while len(self._items) > self.capacity:
            prediction_id, _ = self._items.popitem(last=False)
            self._feedback.pop(prediction_id, None)
            self.evicted += 1

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        group = self._items.get(prediction_id)
        if group is None:
            return None
        stored = group.prediction(prediction_id)
        if stored is not None:
            stored["feedback"] = self._feedback.get(prediction_id)
        return stored

    async def recent(self, limit: int) -> list[StoredPrediction]:
        newest = list(islice(reversed(self._items), limit))
        return [stored for i in newest if (stored := await self.get(i)) is not None]

    async def add_feedback(
        self, prediction_id: str, feedback: Feedback
    ) -> StoredPrediction | None:
        stored = await self.get(prediction_id)
        if stored is None:
            return None
        total, correct = self._counts.total, self._counts.correct
        old = stored["feedback"]
        if old is not None:  # replaced: the old one no longer counts
            total -= 1
            correct -= old["label"] == stored["label"]
        self._counts = FeedbackCounts(
            total + 1, correct + (feedback["label"] == stored["label"])
        )
        self._feedback[prediction_id] = stored["feedback"] = feedback
        return stored

    async def feedback_counts(self) -> FeedbackCounts:
        return self._counts

    async def delete(self, prediction_id: str) -> bool:
        group = self._items.pop(prediction_id, None)
        if group is None:
            return False
        self._feedback.pop(prediction_id, None)
        rest = group.without(prediction_id)
        if rest is not None:  # the others of its group no longer hold its input
            for other in rest.ids:
                self._items[other] = rest
        return True

    async def save_monitor_run(self, run: MonitorRun) -> None:
        self._monitor_run = run

    async def last_monitor_run(self) -> MonitorRun | None:
        return self._monitor_run

    async def evictions(self) -> int:
        return self.evicted

    async def ping(self) -> bool:
        return True

    def problem(self) -> str | None:
        return None

    def pending(self) -> int:
        return 0

    async def close(self) -> None:
        self._items.clear()
        self._feedback.clear()
