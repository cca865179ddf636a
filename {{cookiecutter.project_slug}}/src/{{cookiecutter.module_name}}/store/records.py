"""What the store keeps of a prediction, as the API also returns it."""

from pydantic import BaseModel

from ..dataset import Features


class PredictionOut(BaseModel):
    prediction_id: str
    label: str
    probabilities: dict[str, float]
    model_version: str


class Feedback(BaseModel):
    label: str
    received_at: str


class StoredPrediction(PredictionOut):
    """A prediction as the store keeps it: the answer, its input and time, and the
    true label when feedback has arrived."""

    input: Features
    created_at: str
    feedback: Feedback | None = None
