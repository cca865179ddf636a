"""How the API makes predictions: requests that arrive together share the work.

Every request that reaches `make` in the same turn of the event loop goes into one call
to the model and one write to the store. A model call costs far more than the rows in
it (ONNX Runtime's fixed cost per call): 32 one-row calls take over 20 times as long as
one call of 32 rows (benchmarks/pieces.py). Alone, a request waits for nothing more
than the end of the loop's turn. The predictions of one call are stored together, as
one group in one write (store/groups.py).
"""

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain

from .. import speed
from ..dataset import Features
from ..predictor import Predictor
from ..store.contract import PredictionStore, StoreUnavailable
from ..store.groups import PredictionGroup, new_ids
from ..store.records import Prediction
from .metrics import Metrics


class Predictions:
    def __init__(
        self, predictor: Predictor, store: PredictionStore, metrics: Metrics
    ) -> None:
        self.predictor = predictor
        self.store = store
        self.metrics = metrics
        self._queue: list[
            tuple[Sequence[Features], asyncio.Future[list[Prediction]]]
        ] = []
        self._writes: set[asyncio.Task[None]] = set()

    async def make(self, rows: Sequence[Features]) -> list[Prediction]:
        """Predict the rows, store the predictions, and return the answers.

        A store outage costs no answer: the store keeps what it could not write, and
        /health counts it.
        """
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[list[Prediction]] = loop.create_future()
        self._queue.append((rows, answered))
        if len(self._queue) == 1:
            loop.call_soon(self._predict_queued)
        return await answered

    def _predict_queued(self) -> None:
        queue, self._queue = self._queue, []
        try:
            queued = chain.from_iterable(rows for rows, _ in queue)
            answers, group = self._predict(list(queued))
        except Exception as error:  # each caller gets it, as if it had called alone
            for _, answered in queue:
                answered.set_exception(error)
            return
        start, waiting = 0, []
        for rows, answered in queue:
            waiting.append((answered, answers[start : start + len(rows)]))
            start += len(rows)
        write = asyncio.get_running_loop().create_task(self._store(group, waiting))
        self._writes.add(write)  # the loop keeps only a weak reference to a task
        write.add_done_callback(self._writes.discard)

    def _predict(
        self, rows: list[Features]
    ) -> tuple[list[Prediction], PredictionGroup]:
        predictor = self.predictor
        inputs = predictor.matrix(rows)
        labels, probabilities = predictor.answer(inputs)
        self.metrics.count(labels)
        group_id, ids = new_ids(len(rows))
        version = predictor.version
        by_class = speed.dicts(predictor.classes, probabilities)
        answers: list[Prediction] = [
            {
                "prediction_id": prediction_id,
                "label": label,
                "probabilities": row,
                "model_version": version,
            }
            for prediction_id, label, row in zip(ids, labels, by_class, strict=True)
        ]
        group = PredictionGroup(
            id=group_id,
            model_version=version,
            created_at=datetime.now(UTC).isoformat(),
            features=predictor.features,
            classes=predictor.classes,
            ids=ids,
            labels=labels,
            inputs=inputs,
            probabilities=probabilities,
        )
        return answers, group

    async def _store(
        self,
        group: PredictionGroup,
        waiting: list[tuple[asyncio.Future[list[Prediction]], list[Prediction]]],
    ) -> None:
        with contextlib.suppress(StoreUnavailable):  # kept by the store
            await self.store.save(group)
        for answered, answers in waiting:
            if not answered.done():  # its client may have gone
                answered.set_result(answers)
