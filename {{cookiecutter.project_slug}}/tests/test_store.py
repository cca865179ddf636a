"""The prediction stores: one contract, two implementations, and Redis outages."""

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import redis
from pytest_redis.executor import RedisExecutor
from redis.cluster import RedisCluster
from redis.crc import key_slot
from servers import redis_cluster, redis_url

from {{ cookiecutter.module_name }}.dataset import EXAMPLE, Features
from {{ cookiecutter.module_name }}.store.contract import (
    FeedbackCounts,
    PredictionStore,
    StoreUnavailable,
)
from {{ cookiecutter.module_name }}.store.groups import (
    PredictionGroup,
    new_ids,
)
from {{ cookiecutter.module_name }}.store.memory import MemoryStore
from {{ cookiecutter.module_name }}.store.records import (
    Feedback,
    MonitorRun,
    StoredPrediction,
)
from {{ cookiecutter.module_name }}.store.redis_store import RedisStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# A store keeps whatever labels it is given: these need not be the data module's.
CLASSES = ("red", "green", "blue")
CREATED_AT = "2026-01-01T00:00:00+00:00"


def made(*labels: str) -> tuple[PredictionGroup, list[StoredPrediction]]:
    """Predictions of one model call, sure of their labels: as the API hands them to a
    store, and as the store should read them back."""
    group_id, ids = new_ids(len(labels))
    certain = [[float(label == name) for name in CLASSES] for label in labels]
    group = PredictionGroup(
        id=group_id,
        model_version="abc123",
        created_at=CREATED_AT,
        features=tuple(EXAMPLE),
        classes=CLASSES,
        ids=ids,
        labels=list(labels),
        inputs=np.array([list(EXAMPLE.values())] * len(labels)),
        probabilities=np.array(certain),
    )
    expected = [
        StoredPrediction(
            prediction_id=prediction_id,
            label=label,
            probabilities=dict(zip(CLASSES, row, strict=True)),
            model_version="abc123",
            input=cast(Features, EXAMPLE),
            created_at=CREATED_AT,
            feedback=None,
        )
        for prediction_id, label, row in zip(ids, labels, certain, strict=True)
    ]
    return group, expected


def one(label: str = "red") -> tuple[PredictionGroup, StoredPrediction]:
    group, [expected] = made(label)
    return group, expected


async def eventually(condition: object, seconds: float = 10) -> None:
    """Wait until `condition()` is true, with no other call to the store."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def store(
    request: pytest.FixtureRequest, anyio_backend: str
) -> AsyncIterator[PredictionStore]:
    if request.param == "memory":
        chosen: PredictionStore = MemoryStore(capacity=100)
    else:
        cluster = request.param == "redis-cluster"
        # A namespace of its own: the feedback counts and the index start empty.
        chosen = RedisStore(
            request.getfixturevalue("shared_cluster" if cluster else "shared_redis"),
            timeout=2,
            namespace=f"test-{uuid.uuid4().hex}",
            cluster=cluster,
        )
    yield chosen
    await chosen.close()


async def test_a_saved_prediction_reads_back_equal(store: PredictionStore) -> None:
    group, saved = one()

    await store.save(group)

    assert await store.get(saved["prediction_id"]) == saved


async def test_a_group_is_saved_whole(store: PredictionStore) -> None:
    group, saved = made("red", "green", "blue")

    await store.save(group)

    assert [await store.get(p["prediction_id"]) for p in saved] == saved


async def test_an_unknown_id_reads_as_none(store: PredictionStore) -> None:
    group, saved = one()
    await store.save(group)
    stranger = saved["prediction_id"][:-1] + (
        "0" if saved["prediction_id"][-1] != "0" else "1"
    )

    assert await store.get("no-such-id") is None
    assert await store.get(stranger) is None  # a saved group, not one of its ids


async def test_a_healthy_store_answers_ping(store: PredictionStore) -> None:
    assert await store.ping() is True
    assert store.pending() == 0
    assert store.failed_writes == store.dropped == 0
    assert store.problem() is None


def monitor_run(retrain: bool) -> MonitorRun:
    return MonitorRun(
        retrain=retrain,
        finished_at=1_800_000_000.5,
        model_version="abc123",
        min_live_accuracy=0.8,
        min_feedback=50,
        retrain_since=1_799_000_000.0 if retrain else None,
    )


async def test_the_last_monitor_run_is_kept_and_replaced(
    store: PredictionStore,
) -> None:
    assert await store.last_monitor_run() is None

    await store.save_monitor_run(monitor_run(retrain=True))
    await store.save_monitor_run(monitor_run(retrain=False))

    assert await store.last_monitor_run() == monitor_run(retrain=False)


def feedback(label: str) -> Feedback:
    return Feedback(label=label, received_at="2026-01-02T00:00:00+00:00")


async def test_feedback_is_kept_with_its_prediction_and_counted(
    store: PredictionStore,
) -> None:
    group, (right, wrong, unjudged) = made("red", "red", "red")
    await store.save(group)

    answered = await store.add_feedback(right["prediction_id"], feedback("red"))
    await store.add_feedback(wrong["prediction_id"], feedback("blue"))

    assert answered == {**right, "feedback": feedback("red")}
    assert await store.get(right["prediction_id"]) == answered
    wrong_read = await store.get(wrong["prediction_id"])
    assert wrong_read is not None and wrong_read["feedback"] == feedback("blue")
    assert await store.get(unjudged["prediction_id"]) == unjudged
    assert await store.feedback_counts() == FeedbackCounts(total=2, correct=1)


async def test_a_second_feedback_replaces_the_first(store: PredictionStore) -> None:
    group, saved = one()
    await store.save(group)

    await store.add_feedback(saved["prediction_id"], feedback("blue"))
    await store.add_feedback(saved["prediction_id"], feedback("red"))

    read = await store.get(saved["prediction_id"])
    assert read is not None and read["feedback"] == feedback("red")
    assert await store.feedback_counts() == FeedbackCounts(total=1, correct=1)


async def test_deleting_a_prediction_erases_it_and_its_feedback(
    store: PredictionStore,
) -> None:
    group, (gone, kept) = made("red", "green")
    await store.save(group)
    await store.add_feedback(gone["prediction_id"], feedback("red"))

    assert await store.delete(gone["prediction_id"]) is True

    assert await store.get(gone["prediction_id"]) is None
    assert await store.get(kept["prediction_id"]) == kept
    assert await store.recent(10) == [kept]
    assert await store.delete(gone["prediction_id"]) is False
    # The counts are numbers that hold nobody's data: they keep the feedback.
    assert await store.feedback_counts() == FeedbackCounts(total=1, correct=1)


async def test_redis_keeps_no_trace_of_a_deleted_prediction(shared_redis: str) -> None:
    store = RedisStore(shared_redis, timeout=2, namespace=f"test-{uuid.uuid4().hex}")
    group, (gone, kept) = made("red", "green")
    last, [alone] = made("blue")
    for saved in (group, last):
        await store.save(saved)
    await store.add_feedback(gone["prediction_id"], feedback("red"))
    admin = redis.Redis.from_url(shared_redis)

    await store.delete(gone["prediction_id"])
    await store.delete(alone["prediction_id"])

    fields = admin.hgetall(store.keys.of(kept["prediction_id"]))
    assert [field for field in fields if gone["prediction_id"].encode() in field] == []
    assert gone["prediction_id"].encode() not in fields[b"record"]
    assert admin.exists(store.keys.of(alone["prediction_id"])) == 0  # its group is gone
    await store.close()


async def test_feedback_on_an_unknown_prediction_is_refused(
    store: PredictionStore,
) -> None:
    assert await store.add_feedback("no-such-id", feedback("red")) is None
    assert await store.feedback_counts() == FeedbackCounts()


async def test_recent_reads_the_newest_first(store: PredictionStore) -> None:
    older, (first, second) = made("red", "green")
    newer, [third] = made("blue")
    await store.save(older)
    await store.save(newer)
    await store.add_feedback(second["prediction_id"], feedback("green"))

    newest = await store.recent(2)

    judged = {**second, "feedback": feedback("green")}
    assert newest == [third, judged]
    assert await store.recent(10) == [third, judged, first]


async def test_recent_reads_across_many_groups_and_stops_at_the_limit(
    store: PredictionStore,
) -> None:
    singles = [one() for _ in range(20)]
    batch, in_batch = made(*["green"] * 50)
    for group, _ in singles:
        await store.save(group)
    await store.save(batch)

    newest = await store.recent(60)

    assert newest == in_batch[::-1] + [saved for _, saved in singles[:-11:-1]]


async def test_the_memory_store_keeps_only_the_newest() -> None:
    store = MemoryStore(capacity=2)
    group, (first, second, third) = made("red", "green", "blue")

    await store.save(group)

    assert await store.get(first["prediction_id"]) is None
    assert await store.get(third["prediction_id"]) == third
    assert (store.dropped, await store.evictions()) == (0, 1)  # stored, then evicted


def test_a_group_record_keeps_every_value_exactly() -> None:
    group, _ = made("red", "blue")
    awkward = np.array([[0.1 + 0.2, 1e-300, 5e-324, 99.99999999999999]] * 2)
    group = replace(group, inputs=awkward)

    read = PredictionGroup.from_record(group.record())

    assert read.ids == group.ids and read.labels == group.labels
    assert np.array_equal(read.inputs, awkward)
    assert np.array_equal(read.probabilities, group.probabilities)


def test_the_ids_of_a_group_lead_to_it_and_share_nothing_else() -> None:
    group_id, ids = new_ids(1000)

    assert len(set(ids)) == 1000
    assert all(len(i) == 32 and i.startswith(group_id) for i in ids)
    assert len({i[16:] for i in ids}) == 1000  # the own part is drawn for each


async def test_every_redis_key_is_bounded(shared_redis: str) -> None:
    """Each key expires, or is of a fixed size: Redis can evict what it must."""
    store = RedisStore(
        shared_redis, timeout=2, ttl_seconds=60, namespace=f"test-{uuid.uuid4().hex}"
    )
    group, saved = made("red", "green", "blue")
    admin = redis.Redis.from_url(shared_redis)

    await store.save(group)
    await store.add_feedback(saved[0]["prediction_id"], feedback("red"))
    await store.save_monitor_run(monitor_run(retrain=True))
    await store.save_monitor_run(monitor_run(retrain=False))

    keys = {key.decode() for key in admin.scan_iter(match=f"*{store.keys.namespace}*")}
    group_key, counts = store.keys.of(saved[0]["prediction_id"]), store.keys.counts
    fixed = {counts, store.keys.monitor_run}
    assert keys == {group_key, store.keys.index, *fixed}
    assert all(0 < admin.ttl(key) <= 60 for key in keys - fixed)
    assert admin.hkeys(counts) == [b"total", b"correct"]  # two counters, no more
    assert admin.type(store.keys.monitor_run) == b"string"  # the last run only
    await store.close()


async def test_a_namespace_keeps_every_key_in_one_slot_of_a_cluster(
    shared_cluster: str,
) -> None:
    """The scripts touch several keys at once, which a cluster allows within one slot:
    the namespace's hash tag puts every key there, wherever the slot lives."""
    namespaces = [f"test-{uuid.uuid4().hex}" for _ in range(3)]
    admin = RedisCluster.from_url(shared_cluster)
    for namespace in namespaces:
        store = RedisStore(shared_cluster, timeout=2, namespace=namespace, cluster=True)
        group, saved = made("red", "green")
        await store.save(group)
        await store.add_feedback(saved[0]["prediction_id"], feedback("red"))
        await store.save_monitor_run(monitor_run(retrain=True))
        assert await store.evictions() == 0  # summed over the nodes
        await store.close()

    slots: dict[str, set[int]] = {}
    for namespace in namespaces:
        keys = admin.scan_iter(match=f"*{namespace}*")
        slots[namespace] = {key_slot(key) for key in keys}
    admin.close()
    assert all(len(found) == 1 for found in slots.values()), slots


async def saved_through_an_outage(store: RedisStore) -> StoredPrediction:
    """Save one prediction while Redis is out of reach: the save says so, the store
    reports the outage, and the prediction is read back from the backlog."""
    during, kept = one()
    with pytest.raises(StoreUnavailable):
        await store.save(during)
    assert await store.ping() is False
    assert store.pending() == 1
    assert "redis writes are failing" in str(store.problem())
    assert await store.get(kept["prediction_id"]) == kept
    return kept


@pytest.mark.slow
async def test_a_cluster_out_of_reach_is_an_outage_like_any_other(
    tmp_path: Path,
) -> None:
    """A cluster client raises an exception of its own when no node answers: the store
    keeps the prediction in its backlog and says Redis is down, as with one server.
    One node, which a managed cluster of one shard is, and which sums its evictions."""
    with redis_cluster(tmp_path, nodes=1) as (url, nodes):
        store = RedisStore(url, timeout=1, retry_after=0.2, cluster=True)
        before, _ = one()
        await store.save(before)
        assert await store.evictions() == 0

        for node in nodes:
            node.stop()
        await saved_through_an_outage(store)
        with pytest.raises(StoreUnavailable):
            await store.evictions()
        store.drain_seconds = 0
        await store.close()


async def test_feedback_lives_in_its_group_and_goes_with_it(
    shared_redis: str,
) -> None:
    store = RedisStore(shared_redis, timeout=2, namespace=f"test-{uuid.uuid4().hex}")
    group, saved = one()
    await store.save(group)
    await store.add_feedback(saved["prediction_id"], feedback("red"))

    # What Redis does to the oldest group when its memory is full.
    redis.Redis.from_url(shared_redis).delete(store.keys.of(saved["prediction_id"]))
    again = await store.add_feedback(saved["prediction_id"], feedback("blue"))

    assert again is None  # 404: the prediction is gone, so is its feedback
    assert await store.feedback_counts() == FeedbackCounts(total=1, correct=1)
    await store.close()


async def test_the_index_keeps_the_newest_groups_up_to_its_size(
    shared_redis: str,
) -> None:
    store = RedisStore(
        shared_redis, timeout=2, index_size=3, namespace=f"test-{uuid.uuid4().hex}"
    )
    saved = [one() for _ in range(5)]
    for group, _ in saved:
        await store.save(group)

    admin = redis.Redis.from_url(shared_redis)
    assert admin.zcard(store.keys.index) == 3
    newest = [kept for _, kept in reversed(saved)][:3]
    assert await store.recent(10) == newest
    await store.close()


async def test_an_outage_keeps_predictions_until_redis_is_back(
    private_redis: RedisExecutor,
) -> None:
    store = RedisStore(redis_url(private_redis), timeout=1, retry_after=0.2)
    before, _ = one()
    await store.save(before)

    private_redis.stop()
    kept = await saved_through_an_outage(store)

    private_redis.start()  # a fresh, empty server on the same port
    # No new request: the store's writer retries on its own.
    await eventually(lambda: store.pending() == 0)

    assert store.failed_writes == 1
    admin = redis.Redis.from_url(redis_url(private_redis))
    assert admin.exists(store.keys.of(kept["prediction_id"])) == 1
    await store.close()


async def test_feedback_waits_until_its_prediction_is_in_redis(
    private_redis: RedisExecutor,
) -> None:
    store = RedisStore(
        redis_url(private_redis), timeout=1, retry_after=3600, drain_seconds=0
    )
    private_redis.stop()
    group, kept = one()
    with pytest.raises(StoreUnavailable):
        await store.save(group)

    with pytest.raises(StoreUnavailable, match="not in redis yet"):
        await store.add_feedback(kept["prediction_id"], feedback("red"))
    await store.close()


async def test_while_redis_is_down_requests_do_not_wait_for_it(
    private_redis: RedisExecutor,
) -> None:
    store = RedisStore(
        redis_url(private_redis), timeout=1, retry_after=3600, drain_seconds=0
    )
    private_redis.stop()
    with pytest.raises(StoreUnavailable):
        await store.save(one()[0])

    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="kept in the backlog"):
        await store.save(made("red", "blue")[0])

    assert time.monotonic() - started < 0.1
    assert store.pending() == 3  # predictions, not groups
    await store.close()


async def test_a_full_backlog_drops_the_oldest_and_says_so_once(
    private_redis: RedisExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(redis_url(private_redis), timeout=1, backlog_size=2)
    private_redis.stop()
    saved = [one() for _ in range(4)]

    for group, _ in saved:
        with pytest.raises(StoreUnavailable):
            await store.save(group)
    assert (store.pending(), store.dropped) == (2, 2)
    private_redis.start()
    await store.close()

    admin = redis.Redis.from_url(redis_url(private_redis))
    written = [admin.exists(store.keys.of(kept["prediction_id"])) for _, kept in saved]
    assert written == [0, 0, 1, 1]
    assert caplog.text.count("backlog of 2 predictions is full") == 1


async def test_concurrent_saves_share_round_trips(
    private_redis: RedisExecutor,
) -> None:
    store = RedisStore(redis_url(private_redis), timeout=2)
    admin = redis.Redis.from_url(redis_url(private_redis))
    saved = [one() for _ in range(20)]

    await asyncio.gather(*(store.save(group) for group, _ in saved))

    writes = admin.info("commandstats")["cmdstat_evalsha"]["calls"]
    assert writes < len(saved)
    for _, kept in saved:
        assert await store.get(kept["prediction_id"]) == kept
    await store.close()


@pytest.mark.slow
async def test_a_stalled_redis_loses_nothing_answered(
    private_redis: RedisExecutor,
) -> None:
    store = RedisStore(redis_url(private_redis), timeout=0.2, retry_after=0.2)
    admin = redis.Redis.from_url(redis_url(private_redis))
    saved = [one() for _ in range(50)]

    admin.client_pause(1000, all=True)
    outcomes = await asyncio.gather(
        *(store.save(group) for group, _ in saved), return_exceptions=True
    )

    assert all(o is None or isinstance(o, StoreUnavailable) for o in outcomes)
    keys = [store.keys.of(kept["prediction_id"]) for _, kept in saved]
    await eventually(lambda: admin.exists(*keys) == len(keys))
    assert store.pending() == 0
    await store.close()


async def test_closing_writes_the_backlog_once_redis_is_back(
    private_redis: RedisExecutor,
) -> None:
    store = RedisStore(redis_url(private_redis), timeout=0.5, retry_after=3600)
    private_redis.stop()
    group, kept = one()
    with pytest.raises(StoreUnavailable):
        await store.save(group)
    private_redis.start()

    await store.close()  # the writer would only retry in an hour

    admin = redis.Redis.from_url(redis_url(private_redis))
    assert admin.exists(store.keys.of(kept["prediction_id"])) == 1


async def test_closing_gives_up_after_the_drain_time_and_says_so(
    private_redis: RedisExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(redis_url(private_redis), timeout=0.2, drain_seconds=0.5)
    private_redis.stop()
    with pytest.raises(StoreUnavailable):
        await store.save(one()[0])

    started = time.monotonic()
    await store.close()

    assert time.monotonic() - started < 5
    assert "1 predictions could not be written to redis" in caplog.text


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers, like a hung Redis."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


async def test_a_hung_redis_costs_every_caller_at_most_the_timeout(
    silent_server: str,
) -> None:
    store = RedisStore(silent_server, timeout=0.3, drain_seconds=0)
    started = time.monotonic()

    # Ten callers queue behind one write: each waits the timeout at most, not ten.
    outcomes = await asyncio.gather(
        *(store.save(one()[0]) for _ in range(10)), return_exceptions=True
    )

    assert all(isinstance(outcome, StoreUnavailable) for outcome in outcomes)
    assert time.monotonic() - started < 1.5
    with pytest.raises(StoreUnavailable):
        await store.get("any")
    assert await store.ping() is False
    await store.close()


async def test_an_outage_is_logged_once_and_the_recovery_too(
    private_redis: RedisExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = RedisStore(redis_url(private_redis), timeout=0.5, retry_after=0.2)
    private_redis.stop()
    for _ in range(3):
        with pytest.raises(StoreUnavailable):
            await store.save(one()[0])
    private_redis.start()

    await eventually(lambda: store.pending() == 0)

    assert caplog.text.count("redis write failed") == 1
    assert "redis is back: wrote 3 kept predictions" in caplog.text
    await store.close()
