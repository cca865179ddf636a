"""How the API makes predictions: requests that arrive together share the work.

Every request that reaches `make` in the same turn of the event loop goes into one call
to the model and one write to the store. Under load a model call costs far more than
the rows in it (ONNX Runtime's fixed cost per call, paid with cold caches between
requests), and so does a round trip to Redis; alone, a request waits for nothing more
than the end of the loop's turn. Each stored prediction is serialized once, here.
"""

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypedDict

from pydantic_core import to_json

from ..predictor import Predictor
from .metrics import Metrics
from .schemas import Features
from .store import PredictionStore, StoreUnavailable


class Answer(TypedDict):
    """A prediction as the API answers it (PredictionOut)."""

    prediction_id: str
    label: str
    probabilities: dict[str, float]
    model_version: str


class Predictions:
    def __init__(
        self, predictor: Predictor, store: PredictionStore, metrics: Metrics
    ) -> None:
        self.predictor = predictor
        self.store = store
        self.metrics = metrics
        self._queue: list[tuple[Sequence[Features], asyncio.Future[list[Answer]]]] = []
        self._writes: set[asyncio.Task[None]] = set()

    async def make(self, rows: Sequence[Features]) -> list[Answer]:
        """Predict the rows, store the predictions, and return the answers.

        A store outage costs no answer: the store keeps what it could not write, and
        /health counts it.
        """
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[list[Answer]] = loop.create_future()
        self._queue.append((rows, answered))
        if len(self._queue) == 1:
            loop.call_soon(self._predict_queued)
        return await answered

    def _predict_queued(self) -> None:
        queue, self._queue = self._queue, []
        try:
            answers, records = self._predict([row for rows, _ in queue for row in rows])
        except Exception as error:  # each caller gets it, as if it had called alone
            for _, answered in queue:
                answered.set_exception(error)
            return
        start, waiting = 0, []
        for rows, answered in queue:
            waiting.append((answered, answers[start : start + len(rows)]))
            start += len(rows)
        write = asyncio.get_running_loop().create_task(self._store(records, waiting))
        self._writes.add(write)  # the loop keeps only a weak reference to a task
        write.add_done_callback(self._writes.discard)

    def _predict(self, rows: list[Features]) -> tuple[list[Answer], dict[str, bytes]]:
        predictor = self.predictor
        # vars() gives each row's validated fields without copying them.
        inputs = [vars(row) for row in rows]
        labels, probabilities = predictor.answer(predictor.matrix(inputs))
        self.metrics.count(labels)
        ids = secrets.token_hex(16 * len(rows))  # one call for every id
        answers = [
            Answer(
                prediction_id=ids[32 * i : 32 * (i + 1)],
                label=label,
                probabilities=dict(zip(predictor.classes, row, strict=True)),
                model_version=predictor.version,
            )
            for i, (label, row) in enumerate(zip(labels, probabilities, strict=True))
        ]
        created_at = datetime.now(UTC).isoformat()
        records = {
            answer["prediction_id"]: to_json(
                {**answer, "input": features, "created_at": created_at}
            )
            for answer, features in zip(answers, inputs, strict=True)
        }
        return answers, records

    async def _store(
        self,
        records: dict[str, bytes],
        waiting: list[tuple[asyncio.Future[list[Answer]], list[Answer]]],
    ) -> None:
        with contextlib.suppress(StoreUnavailable):  # kept by the store
            await self.store.save(records)
        for answered, answers in waiting:
            if not answered.done():  # its client may have gone
                answered.set_result(answers)
