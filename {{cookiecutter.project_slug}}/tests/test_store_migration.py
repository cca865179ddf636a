"""`migrate-store`: a deployment upgraded in place keeps what template 1.0.0 stored."""

import time

import orjson
import pytest
import redis
from pytest_redis.executor import RedisExecutor
from servers import redis_url
from test_store import feedback, made
from typer.testing import CliRunner

from {{ cookiecutter.module_name }} import DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.module_name }}.cli import app
from {{ cookiecutter.module_name }}.store.contract import FeedbackCounts
from {{ cookiecutter.module_name }}.store.groups import PredictionGroup
from {{ cookiecutter.module_name }}.store.redis_store import RedisStore

pytestmark = pytest.mark.anyio

HOUR = 3600


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def store_as_in_1_0_0(
    admin: redis.Redis, group: PredictionGroup, ttl: int, judged: dict[str, str]
) -> None:
    """Write a group, and feedback on some of its predictions, in 1.0.0's layout."""
    key, index = f"{DISTRIBUTION}:group:{group.id}", f"{DISTRIBUTION}:groups"
    admin.set(key, group.record(), ex=ttl or None)
    admin.zadd(index, {key: time.time() + admin.zcard(index)})  # one after the other
    for prediction_id, label in judged.items():
        admin.set(
            f"{DISTRIBUTION}:feedback:{prediction_id}",
            orjson.dumps(feedback(label)),
            ex=ttl or None,
        )
    right = sum(label == "red" for label in judged.values())
    admin.hincrby(f"{DISTRIBUTION}:feedback-counts", "total", len(judged))
    admin.hincrby(f"{DISTRIBUTION}:feedback-counts", "correct", right)


async def test_migrate_store_keeps_predictions_feedback_and_counts(
    private_redis: RedisExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = redis_url(private_redis)
    admin = redis.Redis.from_url(url)
    batch, (right, wrong, unjudged) = made("red", "red", "red")
    single, [forever] = made("green")
    judged = {right["prediction_id"]: "red", wrong["prediction_id"]: "blue"}
    store_as_in_1_0_0(admin, batch, HOUR, judged)
    store_as_in_1_0_0(admin, single, 0, {})  # 1.0.0 allowed a TTL of 0: forever
    monkeypatch.setenv("REDIS_URL", url)

    moved = CliRunner().invoke(app, ["migrate-store"])
    again = CliRunner().invoke(app, ["migrate-store"])

    assert moved.exit_code == 0, moved.output
    assert "moved 2 groups (4 predictions, 2 with feedback)" in moved.output
    assert "moved 0 groups" in again.output
    store = RedisStore(url, timeout=2)
    assert await store.recent(10) == [
        forever,
        unjudged,
        {**wrong, "feedback": feedback("blue")},
        {**right, "feedback": feedback("red")},
    ]
    assert await store.feedback_counts() == FeedbackCounts(total=2, correct=1)
    old = [key.decode() for key in admin.scan_iter(match=f"{DISTRIBUTION}:*")]
    assert old == []
    assert HOUR - 60 < admin.ttl(store.keys.of(right["prediction_id"])) <= HOUR
    assert 0 < admin.ttl(store.keys.of(forever["prediction_id"])) <= store.ttl_seconds
    # Feedback after the move counts once more, as it would have before.
    await store.add_feedback(unjudged["prediction_id"], feedback("red"))
    assert await store.feedback_counts() == FeedbackCounts(total=3, correct=2)
    await store.close()


def test_migrate_store_without_redis_says_so_in_one_line() -> None:
    result = CliRunner().invoke(app, ["migrate-store"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: REDIS_URL is not set: there is no Redis to migrate"
    ]


def test_migrate_store_on_a_cluster_says_there_is_nothing_to_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv(f"{ENV_PREFIX}REDIS_CLUSTER", "true")

    result = CliRunner().invoke(app, ["migrate-store"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {ENV_PREFIX}REDIS_CLUSTER is set: template 1.0.0 never wrote to a"
        " Redis Cluster (its scripts could not run there), so there is nothing to"
        " migrate"
    ]


def test_migrate_store_with_redis_down_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    started = time.monotonic()

    result = CliRunner().invoke(app, ["migrate-store"])

    assert result.exit_code == 1
    assert result.output.startswith("error: REDIS_URL: ")
    assert time.monotonic() - started < 10
