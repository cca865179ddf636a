"""The API as users run it, in its own process: Redis stalls, and the server stops."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import redis
from mirakuru import HTTPExecutor
from pytest_redis.executor import RedisExecutor
from servers import api_server, group_in_redis, redis_url

from {{ cookiecutter.module_name }} import ENV_PREFIX
from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.store.groups import group_id_of

STALL_MS = 1500


@pytest.fixture
def server(
    trained: Settings, private_redis: RedisExecutor, tmp_path: Path
) -> Iterator[tuple[HTTPExecutor, str]]:
    """The API storing its predictions in the private Redis, waiting 0.2 s at most."""
    log = (tmp_path / "server.log").open("wb")
    executor, base = api_server(
        trained,
        log,
        REDIS_URL=redis_url(private_redis),
        **{f"{ENV_PREFIX}REDIS_TIMEOUT_SECONDS": "0.2"},
    )
    with log, executor:
        yield executor, base


def burst(base: str, requests: int) -> list[str]:
    """Send concurrent predictions; every one must be answered. Returns their ids."""

    async def send() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
            calls = (client.post("/predict", json=EXAMPLE) for _ in range(requests))
            return await asyncio.gather(*calls)

    responses = asyncio.run(send())
    assert [r.status_code for r in responses] == [200] * requests
    return [r.json()["prediction_id"] for r in responses]


def stored(private_redis: RedisExecutor, ids: list[str]) -> int:
    """How many of the predictions Redis itself holds (not the API's memory)."""
    url = redis_url(private_redis)
    groups = {group_id_of(id_): id_ for id_ in ids}  # one of each group's ids
    records = [group_in_redis(url, one) for one in groups.values()]
    held = {id_ for record in records for id_ in record.get("ids", [])}
    return len(held.intersection(ids))


def stall(private_redis: RedisExecutor) -> float:
    """Make Redis hold every command for STALL_MS; return when it resumes."""
    redis.Redis.from_url(redis_url(private_redis)).client_pause(STALL_MS, all=True)
    return time.monotonic() + STALL_MS / 1000


@pytest.mark.slow
def test_a_stall_mid_burst_loses_no_answered_prediction(
    server: tuple[HTTPExecutor, str], private_redis: RedisExecutor
) -> None:
    _, base = server
    stall(private_redis)
    ids = burst(base, requests=100)

    # No further request: the server's writer must catch up on its own.
    deadline = time.monotonic() + 10
    while stored(private_redis, ids) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert stored(private_redis, ids) == len(ids)


@pytest.mark.slow
def test_stopping_right_after_redis_resumes_loses_nothing(
    server: tuple[HTTPExecutor, str], private_redis: RedisExecutor
) -> None:
    executor, base = server
    resumed = stall(private_redis)
    ids = burst(base, requests=100)
    time.sleep(max(0.0, resumed - time.monotonic()))

    executor.stop()  # SIGTERM: uvicorn runs the app's shutdown, which drains the store

    assert stored(private_redis, ids) == len(ids)
