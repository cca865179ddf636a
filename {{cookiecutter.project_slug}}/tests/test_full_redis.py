"""Day 30: a Redis whose memory is full keeps taking predictions.

A real redis-server with a tiny `maxmemory` and the policy that compose.yaml ships
(volatile-ttl) is sent many times what it can hold.
"""

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from pytest_redis.executor import RedisExecutor
from servers import redis_url
from test_store import feedback, made, one

from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.store.contract import FeedbackCounts
from {{ cookiecutter.module_name }}.store.redis_store import RedisStore

MAXMEMORY = 2 * 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def full_redis(private_redis: RedisExecutor) -> Iterator[str]:
    """The URL of a private Redis with a tiny maxmemory and compose.yaml's policy."""
    url = redis_url(private_redis)
    with redis.Redis.from_url(url) as admin:
        admin.config_set("maxmemory", MAXMEMORY)
        admin.config_set("maxmemory-policy", "volatile-ttl")
    yield url


def evicted_keys(url: str) -> int:
    """What Redis itself counts, not what the API says."""
    with redis.Redis.from_url(url) as admin:
        return int(admin.info("stats")["evicted_keys"])


async def flood(store: RedisStore, groups: int, concurrency: int = 500) -> None:
    """Save single-prediction groups, the most index entries per byte, many at a time
    as concurrent requests would."""
    for _ in range(groups // concurrency):
        await asyncio.gather(*(store.save(one()[0]) for _ in range(concurrency)))


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_full_redis_keeps_taking_predictions(full_redis: str) -> None:
    store = RedisStore(full_redis, timeout=5, namespace=f"test-{uuid.uuid4().hex}")
    judged, [kept] = made("red")
    await store.save(judged)
    await store.add_feedback(kept["prediction_id"], feedback("red"))

    # 40,000 groups: their index entries alone are about three times maxmemory.
    await flood(store, 40_000)
    after, saved = one()
    await store.save(after)

    assert (store.failed_writes, store.dropped, store.pending()) == (0, 0, 0)
    assert await store.get(saved["prediction_id"]) == saved
    assert await store.recent(1) == [saved]
    evicted = evicted_keys(full_redis)
    assert evicted > 0
    assert await store.evictions() == evicted
    # The first group was evicted with its feedback: more feedback is refused (404),
    # not counted a second time.
    assert await store.get(kept["prediction_id"]) is None
    assert await store.add_feedback(kept["prediction_id"], feedback("red")) is None
    assert await store.feedback_counts() == FeedbackCounts(total=1, correct=1)
    await store.close()


def test_the_api_reports_redis_evictions_as_a_counter(
    trained: Settings, full_redis: str
) -> None:
    settings = trained.model_copy(update={"redis_url": full_redis})
    rows = {"rows": [EXAMPLE] * 1000}
    with TestClient(create_app(settings)) as client:
        # 100 batches of 1,000 predictions: several times what the Redis holds.
        batches = [client.post("/predict/batch", json=rows) for _ in range(100)]
        health = client.get("/health").json()
        metrics = client.get("/metrics").text

    evicted = evicted_keys(full_redis)
    assert {batch.status_code for batch in batches} == {200}
    assert evicted > 0
    assert f"store_evictions_total {float(evicted)}" in metrics
    assert (health["status"], health["store"]["failed_writes"]) == ("ok", 0)


def test_health_says_why_when_redis_refuses_writes(
    trained: Settings, full_redis: str
) -> None:
    # A Redis that evicts nothing, filled with keys of someone else's: every write of
    # the API is refused (OOM), while Redis still answers PING.
    filler = "x" * 10_000
    with redis.Redis.from_url(full_redis) as admin:
        admin.config_set("maxmemory-policy", "noeviction")
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for number in range(MAXMEMORY // len(filler) * 2):
                admin.set(f"other-app:{number}", filler)
    update = {"redis_url": full_redis, "store_drain_seconds": 0}
    settings = trained.model_copy(update=update)
    with TestClient(create_app(settings)) as client:
        answered = client.post("/predict", json=EXAMPLE)
        health = client.get("/health")

    assert answered.status_code == 200
    assert health.status_code == 200  # probes read the code: the API still answers
    body = health.json()
    assert body["status"] == "degraded"
    assert body["store"]["reachable"] is True
    assert "OutOfMemoryError" in body["reason"]
