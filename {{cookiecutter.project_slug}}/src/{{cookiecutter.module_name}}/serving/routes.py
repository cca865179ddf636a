"""The endpoints. `router` needs the API key when one is set, `scrape` too unless
/metrics is public; `probes` never does."""

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter, ValidationError

from .. import DISTRIBUTION
from ..dataset import Features
from ..store.contract import StoreUnavailable
from ..store.records import Feedback, Prediction, StoredPrediction
from .deps import MetricsDep, PredictorDep, StoreDep
from .predictions import Predictions
from .schemas import (
    BatchOut,
    BatchRequest,
    FeedbackIn,
    Health,
    ModelInfo,
    StoreHealth,
)

router = APIRouter()
scrape = APIRouter()
probes = APIRouter()


Body = TypeVar("Body")
SCHEMAS = "#/components/schemas/{model}"  # where OpenAPI keeps named schemas


def request_body(body: type) -> dict[str, Any]:
    """Document a JSON body that the route reads itself (see `parse`)."""
    schema = {"$ref": SCHEMAS.format(model=body.__name__)}
    content = {"application/json": {"schema": schema}}
    return {
        "requestBody": {"required": True, "content": content},
        "responses": {"415": {"description": "The body is not sent as JSON"}},
    }


def body_schemas(*bodies: type) -> dict[str, Any]:
    """Return the named schemas of the bodies that routes read themselves, for the
    components of the OpenAPI document (FastAPI knows only of bodies it reads)."""
    schemas: dict[str, Any] = {}
    for body in bodies:
        schema = TypeAdapter(body).json_schema(ref_template=SCHEMAS)
        schemas.update(schema.pop("$defs", {}))
        schemas[body.__name__] = schema
    return schemas


async def parse(adapter: TypeAdapter[Body], request: Request) -> Body:
    """Validate a request's JSON straight from its bytes; 415 when it says it is not
    JSON, 422 as FastAPI would when it is not valid.

    FastAPI would decode the JSON into Python objects first, then validate those:
    2.5 times the work for a batch (benchmarks/pieces.py).
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip()
    if media_type != "application/json":
        raise HTTPException(415, "send JSON, with Content-Type: application/json")
    try:
        return adapter.validate_json(await request.body())
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        located = [
            {**problem, "loc": ("body", *problem["loc"])} for problem in problems
        ]
        raise RequestValidationError(located) from None


def json_response(content: object) -> Response:
    """Answer with JSON built from values that were valid already.

    FastAPI would check the answer against the route's `response_model` again (which
    still documents it) before writing it: 6 times the work for a batch
    (benchmarks/pieces.py).
    """
    return Response(orjson.dumps(content), media_type="application/json")


FEATURES = TypeAdapter(Features)
BATCH = TypeAdapter(BatchRequest)
BODY_SCHEMAS = body_schemas(Features, BatchRequest)


async def stored_or_error(
    prediction_id: str, lookup: Awaitable[StoredPrediction | None]
) -> StoredPrediction:
    """Await a store lookup: 503 when the store is down, 404 when there is no such
    prediction."""
    try:
        found = await lookup
    except StoreUnavailable:
        raise HTTPException(503, "the prediction store is unavailable") from None
    if found is None:
        raise HTTPException(404, f"no prediction with id {prediction_id!r}")
    return found


# The prediction routes take the request itself: the app's Predictions from its state,
# the body through `parse`. FastAPI's dependencies and body handling would cost more
# than the prediction.
@router.post(
    "/predict", response_model=Prediction, openapi_extra=request_body(Features)
)
async def predict(request: Request) -> Response:
    """Predict one flower's species; the prediction is stored under its id."""
    features = await parse(FEATURES, request)
    predictions: Predictions = request.app.state.predictions
    [answer] = await predictions.make([features])
    return json_response(answer)


@router.post(
    "/predict/batch", response_model=BatchOut, openapi_extra=request_body(BatchRequest)
)
async def predict_batch(request: Request) -> Response:
    """Predict many rows in one call (at most MAX_BATCH_ROWS)."""
    batch = await parse(BATCH, request)
    predictions: Predictions = request.app.state.predictions
    return json_response({"predictions": await predictions.make(batch["rows"])})


@router.get("/predictions/{prediction_id}", response_model=StoredPrediction)
async def get_prediction(prediction_id: str, store: StoreDep) -> StoredPrediction:
    """Return a stored prediction with its input, time and feedback."""
    return await stored_or_error(prediction_id, store.get(prediction_id))


@router.delete(
    "/predictions/{prediction_id}",
    status_code=204,
    responses={404: {"description": "No prediction with this id"}},
)
async def delete_prediction(prediction_id: str, store: StoreDep) -> None:
    """Erase a stored prediction, its input and its feedback (a data-subject request).

    Stored predictions also expire on their own, after their time to live.
    """
    try:
        deleted = await store.delete(prediction_id)
    except StoreUnavailable:
        raise HTTPException(503, "the prediction store is unavailable") from None
    if not deleted:
        raise HTTPException(404, f"no prediction with id {prediction_id!r}")


@router.post(
    "/predictions/{prediction_id}/feedback",
    response_model=StoredPrediction,
    responses={404: {"description": "No prediction with this id"}},
)
async def add_feedback(
    prediction_id: str, feedback: FeedbackIn, predictor: PredictorDep, store: StoreDep
) -> StoredPrediction:
    """Record the true label of a stored prediction, once it is known.

    A second feedback for the same prediction replaces the first. The live accuracy
    in /metrics and in `make monitor`'s report counts the predictions with feedback.
    """
    if feedback.label not in predictor.classes:
        rule = f"must be one of the model's classes: {', '.join(predictor.classes)}"
        error = {"loc": ("body", "label"), "msg": rule, "type": "value_error"}
        raise RequestValidationError([error])
    received = Feedback(label=feedback.label, received_at=datetime.now(UTC).isoformat())
    return await stored_or_error(
        prediction_id, store.add_feedback(prediction_id, received)
    )


@scrape.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics"}},
)
async def metrics(metrics: MetricsDep) -> Response:
    """Report this process's metrics in Prometheus' text format."""
    await metrics.refresh()
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/model", response_model=ModelInfo)
async def model_info(predictor: PredictorDep) -> ModelInfo:
    """Say which model answers: name, version, training time, evaluation metrics."""
    return ModelInfo(
        name=DISTRIBUTION,
        version=predictor.version,
        trained_at=predictor.trained_at,
        features=list(predictor.features),
        classes=list(predictor.classes),
        params=predictor.params,
        metrics=predictor.metrics,
        runtime=predictor.runtime.name,
        runtime_reason=predictor.runtime_reason,
    )


@probes.get("/health", response_model=Health)
async def health(predictor: PredictorDep, store: StoreDep) -> Health:
    """Report liveness, and whether predictions reach the store.

    The status code is 200 whenever the server answers, since probes read only that:
    predictions are still answered while the store is down. The body says `degraded`,
    with the reason, while the store is unreachable or writes to it fail or wait.
    """
    reachable = await store.ping()
    reason = "the prediction store does not answer" if not reachable else None
    reason = reason or store.problem()
    return Health(
        status="degraded" if reason else "ok",
        reason=reason,
        model_version=predictor.version,
        runtime=predictor.runtime.name,
        store=StoreHealth(
            backend=store.name,
            reachable=reachable,
            failed_writes=store.failed_writes,
            pending_writes=store.pending(),
            dropped=store.dropped,
        ),
    )
