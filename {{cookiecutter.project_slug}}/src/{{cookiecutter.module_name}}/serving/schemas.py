"""What the API accepts and returns; these models are also its OpenAPI documentation.

The requests are typed dicts: pydantic validates them straight from the request's JSON
into plain dicts, the cheapest shape to check and to read (serving/routes.py). A row's
features are the data module's `Features`.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from ..dataset import CLASSES, Features
from ..store.records import Prediction

# Larger batches get a 422 naming this limit; split them client-side.
MAX_BATCH_ROWS = 1000


@with_config(ConfigDict(extra="forbid"))
class BatchRequest(TypedDict):
    rows: Annotated[list[Features], Field(min_length=1, max_length=MAX_BATCH_ROWS)]


class FeedbackIn(BaseModel):
    """The true label of a prediction, once it is known."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"label": CLASSES[0]}]}
    )

    label: str = Field(
        min_length=1, max_length=200, description="One of the model's classes (/model)"
    )


class BatchOut(BaseModel):
    predictions: list[Prediction]


class ModelInfo(BaseModel):
    name: str
    version: str
    trained_at: str
    features: list[str]
    classes: list[str]
    params: dict[str, float | int | str | None]
    metrics: dict[str, float]
    runtime: str = Field(description="onnx, or scikit-learn")
    runtime_reason: str | None = Field(
        description="Why scikit-learn, not ONNX, answers"
    )


class StoreHealth(BaseModel):
    backend: str
    reachable: bool
    failed_writes: int
    pending_writes: int
    dropped: int


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    reason: str | None = Field(
        default=None, description="Why the status is degraded: what is failing"
    )
    model_version: str
    runtime: str
    store: StoreHealth
