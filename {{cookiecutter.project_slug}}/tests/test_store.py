"""The prediction stores: one contract, two implementations, and Redis outages."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from conftest import RedisServer

from {{ cookiecutter.module_name }}.serving.schemas import (
    Features,
    StoredPrediction,
)
from {{ cookiecutter.module_name }}.serving.store import (
    MemoryStore,
    PredictionStore,
    RedisStore,
    StoreUnavailable,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def prediction(label: str = "setosa") -> StoredPrediction:
    return StoredPrediction(
        prediction_id=uuid.uuid4().hex,
        label=label,
        probabilities={label: 1.0},
        model_version="abc123",
        input=Features(
            sepal_length_cm=5.1,
            sepal_width_cm=3.5,
            petal_length_cm=1.4,
            petal_width_cm=0.2,
        ),
        created_at="2026-01-01T00:00:00+00:00",
    )


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, anyio_backend: str
) -> AsyncIterator[PredictionStore]:
    if request.param == "memory":
        chosen: PredictionStore = MemoryStore(capacity=100)
    else:
        chosen = RedisStore(request.getfixturevalue("redis_url"), timeout=2)
    yield chosen
    await chosen.close()


async def test_a_saved_prediction_reads_back_equal(store: PredictionStore) -> None:
    saved = prediction()

    await store.save([saved])

    assert await store.get(saved.prediction_id) == saved


async def test_a_batch_is_saved_whole(store: PredictionStore) -> None:
    batch = [prediction(label) for label in ("setosa", "versicolor", "virginica")]

    await store.save(batch)

    assert [await store.get(p.prediction_id) for p in batch] == batch


async def test_an_unknown_id_reads_as_none(store: PredictionStore) -> None:
    assert await store.get("no-such-id") is None


async def test_a_healthy_store_answers_ping(store: PredictionStore) -> None:
    assert await store.ping() is True
    assert store.pending() == 0
    assert store.failed_writes == 0


async def test_the_memory_store_keeps_only_the_newest() -> None:
    store = MemoryStore(capacity=2)
    first, second, third = prediction(), prediction(), prediction()

    await store.save([first, second, third])

    assert await store.get(first.prediction_id) is None
    assert await store.get(third.prediction_id) == third
    assert store.dropped == 1


async def test_redis_keys_expire_when_a_ttl_is_set(redis_url: str) -> None:
    store = RedisStore(redis_url, timeout=2, ttl_seconds=60)
    saved = prediction()

    await store.save([saved])

    ttl = redis.Redis.from_url(redis_url).ttl(store.key(saved.prediction_id))
    assert 0 < ttl <= 60
    await store.close()


async def test_an_outage_keeps_predictions_until_redis_is_back(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url, timeout=1, retry_after=0)
    before = prediction()
    await store.save([before])

    redis_server.stop()
    during = prediction()
    with pytest.raises(StoreUnavailable):
        await store.save([during])
    assert await store.ping() is False
    assert store.pending() == 1
    assert await store.get(during.prediction_id) == during  # served from the backlog

    redis_server.start()  # a fresh, empty server on the same port
    after = prediction()
    await store.save([after])

    assert store.pending() == 0
    assert store.failed_writes == 1
    assert await store.get(during.prediction_id) == during
    assert await store.get(after.prediction_id) == after
    await store.close()


async def test_after_a_failure_redis_is_left_alone_for_a_while(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url, timeout=1, retry_after=3600)
    redis_server.stop()
    with pytest.raises(StoreUnavailable, match="write failed"):
        await store.save([prediction()])
    redis_server.start()

    with pytest.raises(StoreUnavailable, match="kept in the backlog"):
        await store.save([prediction()])

    assert store.pending() == 2
    await store.close()


async def test_a_full_backlog_counts_what_it_drops(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, timeout=1, backlog_size=2, retry_after=0)
    redis_server.stop()

    for _ in range(3):
        with pytest.raises(StoreUnavailable):
            await store.save([prediction()])

    assert store.pending() == 2
    assert store.dropped == 1
    await store.close()


async def test_concurrent_saves_share_round_trips(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, timeout=2)
    admin = redis.Redis.from_url(redis_server.url)
    admin.config_resetstat()
    batches = [[prediction()] for _ in range(20)]

    await asyncio.gather(*(store.save(batch) for batch in batches))

    writes = admin.info("commandstats")["cmdstat_mset"]["calls"]
    assert writes < len(batches)
    for [saved] in batches:
        assert await store.get(saved.prediction_id) == saved
    await store.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers, like a hung Redis."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


async def test_a_hung_redis_costs_at_most_the_timeout(silent_server: str) -> None:
    store = RedisStore(silent_server, timeout=0.2)

    # The outer limit only stops a broken store from hanging the test suite.
    async with asyncio.timeout(30):
        with pytest.raises(StoreUnavailable):
            await store.save([prediction()])
        with pytest.raises(StoreUnavailable):
            await store.get("any")
        assert await store.ping() is False
    await store.close()
