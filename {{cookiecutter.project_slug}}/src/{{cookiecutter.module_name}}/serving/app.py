"""The HTTP API's factory: `create_app()` builds the app that uvicorn serves.

Run it with `make serve`; the interactive docs are at /docs.
"""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from .. import DISTRIBUTION, ENV_PREFIX, SUMMARY, __version__
from ..predictor import Predictor
from ..settings import Settings, load_settings
from ..store.contract import PredictionStore
from ..store.memory import MemoryStore
from ..tracking import refresh_interval
from .deps import api_key_guard
from .limits import RequestLimits
from .metrics import Metrics
from .predictions import Predictions
from .recorder import RequestRecorder
from .refresh import follow
from .routes import BODY_SCHEMAS, probes, router, scrape

log = logging.getLogger(__name__)

# The problems a 422 lists one by one.
MAX_PROBLEMS = 20


def open_store(settings: Settings) -> PredictionStore:
    """Open Redis when a URL is configured, else the in-process store; log which."""
    if settings.redis_url is None:
        log.info("storing predictions in memory (set REDIS_URL to use Redis)")
        return MemoryStore(settings.memory_store_size)
    # Imported only here: the redis client takes longer to import than FastAPI.
    from ..store.redis_store import RedisStore

    address = urlsplit(settings.redis_url)
    log.info("storing predictions in Redis at %s:%s", address.hostname, address.port)
    return RedisStore(
        settings.redis_url,
        timeout=settings.redis_timeout_seconds,
        ttl_seconds=settings.prediction_ttl_seconds,
        index_size=settings.store_index_size,
        backlog_size=settings.store_backlog_size,
        drain_seconds=settings.store_drain_seconds,
        cluster=settings.redis_cluster,
    )


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
    # Both: 1.1-1.2 times as fast with 4 batches in flight (benchmarks/pieces.py).
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    interval = refresh_interval(settings)
    if interval is None:
        yield
    else:
        log.info("following the registry's alias: checked every %gs", interval)
        following = asyncio.create_task(follow(app, settings, interval))
        yield
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
    await app.state.store.close()


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    """Answer 422 with where and what for each problem, not echoing the input.

    The input may be huge or hold NaN, which JSON cannot carry. Past MAX_PROBLEMS,
    one last item counts the rest: a body with 100,000 unknown keys gets a short
    answer, not one a hundred times its size.
    """
    found = cast(RequestValidationError, error).errors()
    problems = [
        {"loc": problem["loc"], "msg": problem["msg"], "type": problem["type"]}
        for problem in found[:MAX_PROBLEMS]
    ]
    if len(found) > MAX_PROBLEMS:
        more = f"and {len(found) - MAX_PROBLEMS} more problems"
        problems.append({"loc": ["body"], "msg": more, "type": "too_many_problems"})
    return JSONResponse({"detail": problems}, status_code=422)


def with_body_schemas(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's OpenAPI document, with the bodies that the routes read themselves."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(BODY_SCHEMAS)
        return document

    return openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    # /docs and /redoc load their scripts and styles from this server, not from a CDN:
    # they work without internet, and a key typed into "Authorize" stays here.
    app = FastAPIOffline(
        title=DISTRIBUTION,
        description=SUMMARY,
        version=__version__,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # larger bodies get a 413
    )
    # FastAPI's documented way to extend the document.
    app.openapi = with_body_schemas(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_middleware(
        RequestLimits,
        max_incomplete=settings.max_incomplete_requests,
        body_seconds=settings.body_timeout_seconds,
    )
    # The outermost: it also times and logs refusals.
    app.add_middleware(RequestRecorder, access_log=settings.access_log == "json")
    keys = settings.api_keys
    if not keys:
        # Speed: FastAPI serves the app's own routes faster than included ones
        # (/predict, alternating wrk runs: 6,190 against 5,710 requests/s included).
        app.router.routes.extend([*router.routes, *scrape.routes, *probes.routes])
        return app
    guarded = [Depends(api_key_guard(keys))]
    app.include_router(router, dependencies=guarded)
    app.include_router(scrape, dependencies=[] if settings.metrics_public else guarded)
    app.include_router(probes)
    return app
