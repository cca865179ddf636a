"""A prediction as the API answers it, and as the store keeps it.

Plain typed dicts, like the data module's Features: FastAPI documents and checks them as
it would models, and orjson writes them as they are.
"""

from pydantic import TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from ..dataset import Features


class Prediction(TypedDict):
    """A prediction as the API answers it."""

    prediction_id: str
    label: str
    probabilities: dict[str, float]
    model_version: str


class Feedback(TypedDict):
    """The true label of a prediction, once it is known."""

    label: str
    received_at: str


class StoredPrediction(Prediction):
    """A prediction as the store keeps it: the answer, its input and time, and the
    true label when feedback has arrived."""

    input: Features
    created_at: str
    feedback: Feedback | None


class MonitorRun(TypedDict):
    """The last `monitor` run, kept in the store so that every API replica reports it
    in /metrics: the verdict, when, the model serving then (the version of the most
    recent prediction), and the thresholds of params.yaml it judged with. While runs
    keep saying retrain for the same model, `retrain_since` keeps the first one's time
    (None without a retrain)."""

    retrain: bool
    finished_at: float  # Unix time
    model_version: str
    min_live_accuracy: float
    min_feedback: int
    retrain_since: float | None


FEEDBACK = TypeAdapter(Feedback)
MONITOR_RUN = TypeAdapter(MonitorRun)


def feedback_from_json(raw: bytes) -> Feedback:
    """Read back a feedback that the store wrote as JSON."""
    return FEEDBACK.validate_json(raw)
