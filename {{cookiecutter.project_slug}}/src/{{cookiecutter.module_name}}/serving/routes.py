"""The endpoints. `router` needs the API key when one is set; `probes` never does."""

import contextlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException

from .. import DISTRIBUTION
from .deps import PredictorDep, StoreDep
from .schemas import (
    BatchOut,
    BatchRequest,
    Features,
    Health,
    ModelInfo,
    PredictionOut,
    StoredPrediction,
    StoreHealth,
)
from .store import StoreUnavailable

router = APIRouter()
probes = APIRouter()


async def predict_and_store(
    predictor: PredictorDep, store: StoreDep, rows: Sequence[Features]
) -> list[StoredPrediction]:
    """Predict the rows in one call, then store them in one write.

    A store outage costs no answer: the store keeps what it could not write, and
    /health counts it.
    """
    # vars() gives each row's fields without copying them.
    results = predictor.predict([vars(row) for row in rows])
    created_at = datetime.now(UTC).isoformat()
    predictions = [
        StoredPrediction(
            prediction_id=secrets.token_hex(16),
            label=result.label,
            probabilities=result.probabilities,
            model_version=predictor.version,
            input=features,
            created_at=created_at,
        )
        for features, result in zip(rows, results, strict=True)
    ]
    with contextlib.suppress(StoreUnavailable):  # kept by the store, shown in /health
        await store.save(predictions)
    return predictions


@router.post("/predict", response_model=PredictionOut)
async def predict(
    features: Features, predictor: PredictorDep, store: StoreDep
) -> StoredPrediction:
    """Predict one flower's species; the prediction is stored under its id."""
    [prediction] = await predict_and_store(predictor, store, [features])
    return prediction


@router.post("/predict/batch", response_model=BatchOut)
async def predict_batch(
    batch: BatchRequest, predictor: PredictorDep, store: StoreDep
) -> BatchOut:
    """Predict many rows in one call (at most MAX_BATCH_ROWS)."""
    # Stored predictions are PredictionOut too; the response shows only its fields.
    return BatchOut(
        predictions=list(await predict_and_store(predictor, store, batch.rows))
    )


@router.get("/predictions/{prediction_id}", response_model=StoredPrediction)
async def get_prediction(prediction_id: str, store: StoreDep) -> StoredPrediction:
    """Return a stored prediction with its input and time."""
    try:
        found = await store.get(prediction_id)
    except StoreUnavailable:
        raise HTTPException(503, "the prediction store is unavailable") from None
    if found is None:
        raise HTTPException(404, f"no prediction with id {prediction_id!r}")
    return found


@router.get("/model", response_model=ModelInfo)
async def model_info(predictor: PredictorDep) -> ModelInfo:
    """Say which model answers: name, version, training time, evaluation metrics."""
    model = predictor.model
    return ModelInfo(
        name=DISTRIBUTION,
        version=predictor.version,
        trained_at=model.trained_at,
        features=list(model.features),
        classes=list(model.classes),
        params=model.params,
        metrics=predictor.metrics,
    )


@probes.get("/health", response_model=Health)
async def health(predictor: PredictorDep, store: StoreDep) -> Health:
    """Report liveness, and whether the prediction store is reachable."""
    reachable = await store.ping()
    return Health(
        status="ok" if reachable else "degraded",
        model_version=predictor.version,
        store=StoreHealth(
            backend=store.name,
            reachable=reachable,
            failed_writes=store.failed_writes,
            pending_writes=store.pending(),
            dropped=store.dropped,
        ),
    )
