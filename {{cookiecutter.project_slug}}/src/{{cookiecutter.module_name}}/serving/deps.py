"""What the routes receive: this app's model, store and metrics, and the key guard.

Every dependency is async, so FastAPI calls it on the event loop instead of handing
each request to a worker thread.
"""

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import ENV_PREFIX
from ..predictor import Predictor
from ..store.contract import PredictionStore
from .metrics import Metrics


async def get_predictor(request: Request) -> Predictor:
    predictor: Predictor = request.app.state.predictor
    return predictor


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_store(request: Request) -> PredictionStore:
    store: PredictionStore = request.app.state.store
    return store


PredictorDep = Annotated[Predictor, Depends(get_predictor)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
StoreDep = Annotated[PredictionStore, Depends(get_store)]

bearer = HTTPBearer(auto_error=False, description=f"The key in {ENV_PREFIX}API_KEY.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def api_key_guard(keys: list[str]) -> Callable[[Credentials], Awaitable[None]]:
    """Make a dependency that refuses requests without `Authorization: Bearer KEY`,
    KEY one of `keys`."""
    expected = [key.encode() for key in keys]

    async def require_api_key(credentials: Credentials) -> None:
        given = credentials.credentials.encode() if credentials else b""
        # Compared with every key, each in constant time, so that timing reveals
        # nothing about any of them.
        matches = [secrets.compare_digest(given, key) for key in expected]
        if not any(matches):
            raise HTTPException(
                401,
                "this API needs a key: send `Authorization: Bearer KEY`",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_api_key
