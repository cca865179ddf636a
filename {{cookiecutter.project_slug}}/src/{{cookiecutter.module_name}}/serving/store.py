"""Where predictions are kept: Redis when REDIS_URL is set (redis_store.py), else a
bounded dict in the server's memory.

Both stores take predictions in groups, those of one model call (serving/groups.py),
and read them back one by one as StoredPrediction, the most recent first when asked for
many. Feedback (the true label, which arrives later) is
kept beside its prediction, and counted: the live accuracy is `correct / total` of the
feedback received, a replaced feedback counted once. They raise StoreUnavailable, and
only that, when they cannot do their job, so the API can keep answering predictions
while the store is down.
"""

import logging
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
from typing import Protocol
from urllib.parse import urlsplit

from ..settings import Settings
from .groups import PredictionGroup
from .schemas import Feedback, StoredPrediction

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store did not answer in time, or answered with an error."""


@dataclass(frozen=True)
class FeedbackCounts:
    """How many predictions got feedback, and how many of those were right."""

    total: int = 0
    correct: int = 0


class PredictionStore(Protocol):
    name: str
    failed_writes: int  # predictions that could not be written at once
    dropped: int  # predictions lost before they were ever stored

    async def save(self, group: PredictionGroup) -> None: ...

    async def get(self, prediction_id: str) -> StoredPrediction | None: ...

    async def recent(self, limit: int) -> list[StoredPrediction]: ...

    async def add_feedback(
        self, prediction_id: str, feedback: Feedback
    ) -> StoredPrediction | None: ...

    async def feedback_counts(self) -> FeedbackCounts: ...

    async def delete(self, prediction_id: str) -> bool:
        """Erase a prediction, its input and its feedback; False if there is none.

        The feedback counts keep it: they are numbers, and hold nobody's data.
        """
        ...

    async def evictions(self) -> int:
        """How many entries the store evicted to make room for new ones."""
        ...

    async def ping(self) -> bool: ...

    def problem(self) -> str | None:
        """Why predictions are not being stored now, if they are not."""
        ...

    def pending(self) -> int: ...

    async def close(self) -> None: ...


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
            stored.feedback = self._feedback.get(prediction_id)
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
        if stored.feedback is not None:  # replaced: the old one no longer counts
            total -= 1
            correct -= stored.feedback.label == stored.label
        self._counts = FeedbackCounts(
            total + 1, correct + (feedback.label == stored.label)
        )
        self._feedback[prediction_id] = stored.feedback = feedback
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


def open_store(settings: Settings) -> PredictionStore:
    """Open Redis when a URL is configured, else the in-process store; log which."""
    if settings.redis_url is None:
        log.info("storing predictions in memory (set REDIS_URL to use Redis)")
        return MemoryStore(settings.memory_store_size)
    # Imported only here: the redis client takes longer to import than FastAPI.
    from .redis_store import RedisStore

    address = urlsplit(settings.redis_url)
    log.info("storing predictions in Redis at %s:%s", address.hostname, address.port)
    return RedisStore(
        settings.redis_url,
        timeout=settings.redis_timeout_seconds,
        ttl_seconds=settings.prediction_ttl_seconds,
        index_size=settings.store_index_size,
        backlog_size=settings.store_backlog_size,
        drain_seconds=settings.store_drain_seconds,
    )
