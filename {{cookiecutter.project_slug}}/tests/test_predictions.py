"""The API's prediction path: requests that arrive together share the work."""

import asyncio
import json
from dataclasses import replace

import numpy as np
import pytest

from {{ cookiecutter.module_name }}.dataset import CLASSES, EXAMPLE
from {{ cookiecutter.module_name }}.predictor import Predictor, Runtime
from {{ cookiecutter.module_name }}.serving.metrics import Metrics
from {{ cookiecutter.module_name }}.serving.predictions import Predictions
from {{ cookiecutter.module_name }}.serving.routes import FEATURES
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
ROW = FEATURES.validate_python(EXAMPLE)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Counting:
    """A model runtime that counts its calls and their rows, or fails if told to."""

    name = "counting"

    def __init__(self, runtime: Runtime, error: Exception | None = None) -> None:
        self.runtime = runtime
        self.error = error
        self.calls: list[int] = []

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        self.calls.append(len(matrix))
        if self.error is not None:
            raise self.error
        return self.runtime.probabilities(matrix)


@pytest.fixture
def counting(trained: Settings) -> Counting:
    return Counting(Predictor.load(trained).runtime)


@pytest.fixture
def predictor(trained: Settings, counting: Counting) -> Predictor:
    return replace(Predictor.load(trained), runtime=counting)


def serve(predictor: Predictor) -> Predictions:
    store = MemoryStore(capacity=10)
    return Predictions(predictor, store, Metrics(predictor, store))


async def test_concurrent_requests_share_one_model_call(
    predictor: Predictor, counting: Counting
) -> None:
    store = MemoryStore(capacity=100)
    predictions = Predictions(predictor, store, Metrics(predictor, store))

    answers = await asyncio.gather(*(predictions.make([ROW] * n) for n in (1, 2, 3)))

    assert counting.calls == [6]
    assert [len(a) for a in answers] == [1, 2, 3]
    ids = [answer["prediction_id"] for group in answers for answer in group]
    assert len(set(ids)) == 6
    for prediction_id in ids:
        stored = await store.get(prediction_id)
        assert stored is not None and stored["input"] == ROW


async def test_a_request_alone_is_answered_at_once(predictor: Predictor) -> None:
    predictions = serve(predictor)

    [answer] = await asyncio.wait_for(predictions.make([ROW]), timeout=5)

    assert answer["label"] in CLASSES
    assert set(answer) == {"prediction_id", "label", "probabilities", "model_version"}
    assert json.loads(json.dumps(answer)) == answer


async def test_a_model_error_reaches_every_caller_of_the_call(
    predictor: Predictor, counting: Counting
) -> None:
    counting.error = ValueError("model exploded")
    predictions = serve(predictor)

    outcomes = await asyncio.gather(
        predictions.make([ROW]), predictions.make([ROW]), return_exceptions=True
    )

    assert [str(outcome) for outcome in outcomes] == ["model exploded"] * 2
    assert counting.calls == [2]
