"""The HTTP API. Run it with `make serve`; the interactive docs are at /docs."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import DISTRIBUTION, SUMMARY, __version__
from ..settings import Settings, load_settings
from .predictor import Predictor
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
from .store import StoreUnavailable, open_store

log = logging.getLogger(__name__)
router = APIRouter()


def get_predictor(request: Request) -> Predictor:
    predictor: Predictor = request.app.state.predictor
    return predictor


PredictorDep = Annotated[Predictor, Depends(get_predictor)]


@router.post("/predict", response_model=PredictionOut)
async def predict(features: Features, predictor: PredictorDep) -> StoredPrediction:
    """Predict one flower's species; the prediction is stored under its id."""
    [prediction] = await predictor.predict([features])
    return prediction


@router.post("/predict/batch", response_model=BatchOut)
async def predict_batch(batch: BatchRequest, predictor: PredictorDep) -> BatchOut:
    """Predict many rows in one call (at most MAX_BATCH_ROWS)."""
    # Stored predictions are PredictionOut too; the response shows only its fields.
    return BatchOut(predictions=list(await predictor.predict(batch.rows)))


@router.get("/predictions/{prediction_id}", response_model=StoredPrediction)
async def get_prediction(
    prediction_id: str, predictor: PredictorDep
) -> StoredPrediction:
    """A stored prediction with its input and time."""
    try:
        found = await predictor.store.get(prediction_id)
    except StoreUnavailable:
        raise HTTPException(503, "the prediction store is unavailable") from None
    if found is None:
        raise HTTPException(404, f"no prediction with id {prediction_id!r}")
    return found


@router.get("/health", response_model=Health)
async def health(predictor: PredictorDep) -> Health:
    """Liveness, and whether the prediction store is reachable."""
    store = predictor.store
    reachable = await store.ping()
    return Health(
        status="ok" if reachable else "degraded",
        model_version=predictor.info.version,
        store=StoreHealth(
            backend=store.name,
            reachable=reachable,
            failed_writes=store.failed_writes,
            pending_writes=store.pending(),
        ),
    )


@router.get("/model", response_model=ModelInfo)
async def model_info(predictor: PredictorDep) -> ModelInfo:
    """Which model answers: name, version, training time and evaluation metrics."""
    return predictor.info


async def invalid_request(
    request: Request, error: RequestValidationError
) -> JSONResponse:
    """422 with where and what for each problem, without echoing the input back.

    The input may be huge or hold NaN, which JSON cannot carry.
    """
    problems = [
        {"loc": problem["loc"], "msg": problem["msg"], "type": problem["type"]}
        for problem in error.errors()
    ]
    return JSONResponse({"detail": problems}, status_code=422)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the model is loaded once, when the server starts."""
    config = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(config)
        app.state.predictor = Predictor.load(DISTRIBUTION, config, store)
        log.info("serving model version %s", app.state.predictor.info.version)
        # What start-up loaded lives as long as the process: the garbage collector
        # need not walk it again on every collection (a large cost in batch requests).
        gc.freeze()
        yield
        await store.close()

    app = FastAPI(
        title=DISTRIBUTION,
        description=SUMMARY,
        version=__version__,
        lifespan=lifespan,
        max_body_size=config.max_body_bytes,  # larger bodies get a 413
    )
    app.exception_handler(RequestValidationError)(invalid_request)
    app.include_router(router)
    return app


app = create_app()
