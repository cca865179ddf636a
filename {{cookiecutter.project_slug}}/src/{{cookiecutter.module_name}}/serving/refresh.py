"""Serving follows the champion: a server of a registry alias
(`<PREFIX>_MODEL_URI=models:/NAME@champion`) asks the registry which version the alias
names every `<PREFIX>_MODEL_REFRESH_SECONDS`, and swaps in a new version without a
restart.

The new version is loaded in a worker thread, checked against the data module like the
first one, and swapped in between two turns of the event loop: a request predicts with
one model from start to end, so requests in flight finish on the model they started
with. A version that fails to load leaves the previous one serving, with a log line and
a count in /metrics (`model_load_failures_total`).
"""

import asyncio
import logging

from fastapi import FastAPI

from ..predictor import Predictor
from ..settings import Settings
from ..tracking import alias_version

log = logging.getLogger(__name__)


def swap(app: FastAPI, predictor: Predictor) -> None:
    """Make `predictor` answer every request from now on."""
    app.state.predictor = predictor
    app.state.predictions.predictor = predictor
    app.state.metrics.serving(predictor)


async def refresh(app: FastAPI, settings: Settings) -> None:
    """Swap in the version the alias names, if it is not the one serving."""
    serving: Predictor = app.state.predictor
    try:
        wanted = await asyncio.to_thread(alias_version, settings)
    except Exception as error:  # the registry is down or slow: ask again next time
        log.warning("model refresh: cannot reach the registry: %s", error)
        return
    if wanted == serving.version:
        return
    try:
        loaded = await asyncio.to_thread(Predictor.load, settings)
    except Exception as error:  # whatever the reason, the model serving stays
        app.state.metrics.load_failed()
        log.error(
            "model refresh: %s did not load, %s keeps serving: %s",
            wanted,
            serving.version,
            error,
        )
        return
    swap(app, loaded)
    log.info("model refresh: serving %s (was %s)", loaded.version, serving.version)


async def follow(app: FastAPI, settings: Settings, interval: float) -> None:
    """Refresh every `interval` seconds, until the server stops."""
    while True:
        await asyncio.sleep(interval)
        await refresh(app, settings)
