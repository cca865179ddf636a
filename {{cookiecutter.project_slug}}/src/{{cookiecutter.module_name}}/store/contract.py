"""The contract of a prediction store: Redis (redis_store.py) or a bounded dict in the
server's memory (memory.py).

Both stores take predictions in groups, those of one model call (groups.py),
and read them back one by one as StoredPrediction, the most recent first when asked for
many. Feedback (the true label, which arrives later) is
kept beside its prediction, and counted: the live accuracy is `correct / total` of the
feedback received, a replaced feedback counted once. They raise StoreUnavailable, and
only that, when they cannot do their job, so the API can keep answering predictions
while the store is down.
"""

from dataclasses import dataclass
from typing import Protocol

from .groups import PredictionGroup
from .records import Feedback, MonitorRun, StoredPrediction


class StoreUnavailable(Exception):
    """The store did not answer in time, or answered with an error."""


@dataclass(frozen=True)
class FeedbackCounts:
    """How many predictions got feedback, and how many of those were right."""

    total: int = 0
    correct: int = 0


class PredictionStore(Protocol):
    name: str

    @property
    def failed_writes(self) -> int:
        """Predictions that could not be written at once."""
        ...

    @property
    def dropped(self) -> int:
        """Predictions lost before they were ever stored."""
        ...

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

    async def save_monitor_run(self, run: MonitorRun) -> None:
        """Keep the last `monitor` run (one, the newest), for /metrics."""
        ...

    async def last_monitor_run(self) -> MonitorRun | None: ...

    async def evictions(self) -> int:
        """How many entries the store evicted to make room for new ones."""
        ...

    async def ping(self) -> bool: ...

    def problem(self) -> str | None:
        """Why predictions are not being stored now, if they are not."""
        ...

    def pending(self) -> int: ...

    async def close(self) -> None: ...
