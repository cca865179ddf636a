"""The HTTP API's factory: `create_app()` builds the app that uvicorn serves.

Run it with `make serve`; the interactive docs are at /docs.
"""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import DISTRIBUTION, ENV_PREFIX, SUMMARY, __version__
from ..predictor import Predictor
from ..settings import Settings, load_settings
from .deps import api_key_guard
from .metrics import Metrics, RequestMetrics
from .predictions import Predictions
from .routes import BODY_SCHEMAS, probes, router, scrape
from .store import open_store

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model and open the store once, when the server starts."""
    settings: Settings = app.state.settings
    app.state.predictor = Predictor.load(settings)
    app.state.store = open_store(settings)
    app.state.metrics = Metrics(app.state.predictor, app.state.store)
    app.state.predictions = Predictions(
        app.state.predictor, app.state.store, app.state.metrics
    )
    log.info("serving model version %s", app.state.predictor.version)
    if settings.api_key is None:
        log.warning(
            "no API key (%sAPI_KEY): anyone who reaches this server can use it",
            ENV_PREFIX,
        )
    # What start-up loaded lives as long as the process: the garbage collector
    # need not walk it again on every collection (a large cost in batch requests).
    gc.freeze()
    # A batch request makes thousands of short-lived objects: collected every 700 new
    # objects (Python's default), those still in use are walked and promoted again and
    # again (about 4 collections per 1000-row batch); every 50,000, they are gone first.
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    yield
    await app.state.store.close()


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    """Answer 422 with where and what for each problem, not echoing the input.

    The input may be huge or hold NaN, which JSON cannot carry.
    """
    problems = [
        {"loc": problem["loc"], "msg": problem["msg"], "type": problem["type"]}
        for problem in cast(RequestValidationError, error).errors()
    ]
    return JSONResponse({"detail": problems}, status_code=422)


class PredictionAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, with the bodies that the routes read themselves."""
        document = super().openapi()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(BODY_SCHEMAS)
        return document


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    app = PredictionAPI(
        title=DISTRIBUTION,
        description=SUMMARY,
        version=__version__,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # larger bodies get a 413
    )
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_middleware(RequestMetrics)
    key = settings.api_key
    if key is None:
        # Straight into the app's own routes: FastAPI matches those faster than the
        # routes of an included router (by about a tenth of a prediction's time).
        app.router.routes.extend([*router.routes, *scrape.routes, *probes.routes])
        return app
    guarded = [Depends(api_key_guard(key))]
    app.include_router(router, dependencies=guarded)
    app.include_router(scrape, dependencies=[] if settings.metrics_public else guarded)
    app.include_router(probes)
    return app
