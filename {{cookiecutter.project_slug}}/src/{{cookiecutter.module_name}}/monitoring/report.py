"""`make monitor`: the drift report of the most recent stored predictions.

It reads them from Redis (the server's in-memory store is out of reach of another
process), compares each feature with the training set, and writes
reports/monitoring.json and reports/monitoring.html. Its verdict also goes back to
Redis, where every API replica reads it for /metrics (and so for the alert rules of
deploy/monitoring/).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import numpy as np

from .. import DISTRIBUTION
from ..dataset import FEATURES
from ..errors import ProjectError
from ..files import atomic_path, write_json
from ..params import MonitorParams, Params
from ..pipeline.tables import read_table
from ..settings import Settings
from ..store.contract import StoreUnavailable
from ..store.records import MonitorRun, StoredPrediction
from .drift import compare
from .page import render

if TYPE_CHECKING:
    from ..store.redis_store import RedisStore

T = TypeVar("T")

# A report is a batch job: it can wait longer for Redis than a request does.
READ_TIMEOUT_SECONDS = 10.0


def in_redis(settings: Settings, use: Callable[["RedisStore"], Awaitable[T]]) -> T:
    """Run `use` on the store that the API writes to, in Redis."""
    if settings.redis_url is None:
        raise ProjectError(
            "REDIS_URL is not set: the drift report reads the predictions that the"
            " API stored in Redis"
        )
    from ..store.redis_store import RedisStore

    async def run(url: str) -> T:
        store = RedisStore(
            url, timeout=READ_TIMEOUT_SECONDS, cluster=settings.redis_cluster
        )
        try:
            return await use(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run(settings.redis_url))
    except StoreUnavailable as error:
        raise ProjectError(f"REDIS_URL: {error}") from None


def read_recent(settings: Settings, limit: int) -> list[StoredPrediction]:
    """Return up to `limit` stored predictions, the most recent first."""
    return in_redis(settings, lambda store: store.recent(limit))


class Verdict(TypedDict):
    """Whether to retrain, and why: the reasons are empty when it is not needed."""

    retrain: bool
    reasons: list[str]


def verdict(
    drifted: list[str], judged: int, right: int, rules: MonitorParams
) -> Verdict:
    """Retrain when a feature drifted, or when the live accuracy is under the floor
    once enough predictions have feedback."""
    reasons = [f"drifted: {', '.join(drifted)}"] if drifted else []
    if judged >= rules.min_feedback and right / judged < rules.min_live_accuracy:
        reasons.append(
            f"live accuracy {right / judged:.3f} over {judged} predictions with"
            f" feedback is below monitor.min_live_accuracy {rules.min_live_accuracy}"
        )
    return Verdict(retrain=bool(reasons), reasons=reasons)


async def remember(
    store: "RedisStore",
    decided: Verdict,
    newest: StoredPrediction,
    rules: MonitorParams,
) -> None:
    """Store this run for /metrics, with the time since which runs have said retrain
    for the model that serves (the newest prediction's)."""
    now, version = time.time(), newest["model_version"]
    since: float | None = None
    if decided["retrain"]:
        last = await store.last_monitor_run()
        same = last is not None and last["model_version"] == version
        since = (last["retrain_since"] if last and same else None) or now
    run = MonitorRun(
        retrain=decided["retrain"],
        finished_at=now,
        model_version=version,
        min_live_accuracy=rules.min_live_accuracy,
        min_feedback=rules.min_feedback,
        retrain_since=since,
    )
    await store.save_monitor_run(run)


def monitor(settings: Settings, params: Params) -> tuple[str, Verdict]:
    """Write the drift report and its verdict; return a one-line summary, and the
    verdict."""
    rules = params.monitor
    recent = read_recent(settings, rules.window)
    if len(recent) < rules.min_predictions:
        raise ProjectError(
            f"{len(recent)} stored predictions: the drift report needs at least"
            f" {rules.min_predictions} (monitor.min_predictions in params.yaml)"
        )
    training = read_table(settings.train_file, FEATURES)
    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    features: dict[str, dict[str, Any]] = {}
    inputs: list[Mapping[str, object]] = [stored["input"] for stored in recent]
    for feature in FEATURES:
        live = np.array([row[feature] for row in inputs], dtype=float)
        values[feature] = (training[feature].to_numpy(dtype=float), live)
        features[feature] = asdict(compare(*values[feature], rules))
    judged = [
        (feedback["label"], stored["label"])
        for stored in recent
        if (feedback := stored["feedback"]) is not None
    ]
    right = sum(truth == label for truth, label in judged)
    times = sorted(stored["created_at"] for stored in recent)
    drifted = [name for name, drift in features.items() if drift["drifted"]]
    decided = verdict(drifted, len(judged), right, rules)
    report = {
        "project": DISTRIBUTION,
        "created_at": datetime.now(UTC).isoformat(),
        "predictions": len(recent),
        "window": {"first": times[0], "last": times[-1]},
        "model_versions": sorted({stored["model_version"] for stored in recent}),
        "training_rows": len(training),
        "thresholds": {"p_value": rules.p_value, "min_psi": rules.min_psi},
        "features": features,
        "drifted": drifted,
        "feedback": {
            "predictions": len(judged),
            "accuracy": right / len(judged) if judged else None,
        },
        "verdict": decided,
    }
    write_json(report, settings.monitoring_file)
    with atomic_path(settings.monitoring_page) as temporary:
        temporary.write_text(render(report, values), encoding="utf-8")
    in_redis(settings, lambda store: remember(store, decided, recent[0], rules))
    said = "; ".join(decided["reasons"]) if decided["retrain"] else "no retrain"
    return (
        f"{len(recent)} predictions; drifted: {', '.join(drifted) or 'none'};"
        f" verdict: {said}; wrote {settings.monitoring_file} and"
        f" {settings.monitoring_page}"
    ), decided
