"""The Redis store: a key per group of predictions (groups.py), with a time to live,
written in batches by a write-behind writer (writer.py) that keeps what it could not
write until Redis is back.

Every key it writes is bounded, so that a Redis with a `maxmemory` and the
`volatile-ttl` policy (compose.yaml) stays writable however long it runs:

- `{NS}:group:<group id>`, a hash: the group's record, and the feedback of each of its
  predictions beside it. It expires after the TTL. Under memory pressure, Redis evicts
  the groups closest to expiry, the oldest, first; their feedback goes with them.
- `{NS}:groups`, the index of groups by time, for `recent`: trimmed to the TTL and to
  `index_size` groups at each write, and expiring with the newest group.
- `{NS}:feedback-counts`, a hash of two counters, and `{NS}:monitor-run`, the last
  `monitor` run's verdict.

NS is the namespace (keys.py), in braces: a hash tag, so that in a Redis Cluster every
key of a namespace is in one slot, as the scripts need. The layout of template 1.0.0 is
converted by `migrate-store` (migration.py).
"""

import logging
import time
from collections.abc import Awaitable, Iterable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError

from .. import DISTRIBUTION
from ..settings import INDEX_SIZE, THIRTY_DAYS
from .contract import FeedbackCounts, StoreUnavailable
from .groups import PredictionGroup
from .keys import FEEDBACK_FIELD, RECORD, RedisKeys
from .records import (
    MONITOR_RUN,
    Feedback,
    MonitorRun,
    StoredPrediction,
    feedback_from_json,
)
from .writer import WriteBehind

log = logging.getLogger(__name__)

# What a Redis call raises when the server is down, slow or refuses the command (a
# cluster client that cannot reach its nodes raises RedisClusterException).
REDIS_ERRORS = (RedisError, RedisClusterException, OSError, TimeoutError)

# Defaults: predictions a Redis outage may hold back, and how often to retry then.
BACKLOG_SIZE = 10_000
RETRY_AFTER_SECONDS = 1.0
DRAIN_SECONDS = 5.0
# `recent` reads the index a page of groups per round trip: a few first (a batch's
# group holds many predictions), twice as many each time, up to the last size.
FIRST_PAGE, LAST_PAGE = 8, 512

# Every group of a write in one call, each with its time to live, and indexed by time in
# a sorted set, so that the most recent are cheap to read back (`recent`). The index
# keeps the groups of the last TTL, at most ARGV[3] of them, and expires with the
# newest.
# KEYS: the index, then the groups; ARGV: the time to live (seconds), the time now
# (seconds), the index's size, then the groups' ids and records, in turn.
WRITE = """
local ttl = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
for i = 2, #KEYS do
    redis.call('HSET', KEYS[i], 'record', ARGV[2 * i + 1])
    redis.call('EXPIRE', KEYS[i], ttl)
    redis.call('ZADD', KEYS[1], now, ARGV[2 * i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[1], ttl)
return #KEYS - 1
"""

# Keep a feedback in its prediction's group and count it, atomically. The feedback is a
# field of the group, so it goes when the group does: a prediction whose group was
# evicted gets no feedback (404) rather than a second count.
# KEYS: the group, the counts; ARGV: the feedback's field, the feedback, its label, the
# predicted label. Returns 0 when the group is gone, else 1.
FEEDBACK = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    return 0
end
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then
    redis.call('HINCRBY', KEYS[2], 'total', -1)
    if cjson.decode(previous)['label'] == ARGV[4] then
        redis.call('HINCRBY', KEYS[2], 'correct', -1)
    end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], 'total', 1)
redis.call('HINCRBY', KEYS[2], 'correct', ARGV[3] == ARGV[4] and 1 or 0)
return 1
"""

# Erase one prediction from its group: rewrite the record without it, or delete the
# group if it was the last, and its feedback, unless the record changed since it was
# read. KEYS: the group; ARGV: the record as read, the new record ("" for none), the
# prediction's feedback field. Returns 0 when the record changed, else 1.
DELETE = """
if redis.call('HGET', KEYS[1], 'record') ~= ARGV[1] then
    return 0
end
if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
else
    redis.call('HSET', KEYS[1], 'record', ARGV[2])
    redis.call('HDEL', KEYS[1], ARGV[3])
end
return 1
"""


class RedisStore:
    """One Redis key per group of predictions, written behind the requests."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        ttl_seconds: int = THIRTY_DAYS,
        index_size: int = INDEX_SIZE,
        backlog_size: int = BACKLOG_SIZE,
        retry_after: float = RETRY_AFTER_SECONDS,
        drain_seconds: float = DRAIN_SECONDS,
        namespace: str = DISTRIBUTION,
        cluster: bool = False,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.index_size = index_size  # groups
        self.drain_seconds = drain_seconds
        self.keys = RedisKeys(namespace)
        # No retries inside redis-py: the writer retries, and requests never wait.
        self._client = (RedisCluster if cluster else Redis).from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), retries=0),
        )
        self._write_script = self._client.register_script(WRITE)
        self._feedback_script = self._client.register_script(FEEDBACK)
        self._delete_script = self._client.register_script(DELETE)
        self._writer = WriteBehind(
            self._write,
            name=self.name,
            errors=REDIS_ERRORS,
            timeout=timeout,
            backlog_size=backlog_size,
            retry_after=retry_after,
        )

    @property
    def failed_writes(self) -> int:
        return self._writer.failed_writes

    @property
    def dropped(self) -> int:
        return self._writer.dropped

    async def save(self, group: PredictionGroup) -> None:
        """Store a group; raise StoreUnavailable if it is only in memory yet."""
        await self._writer.save(group)

    async def _write(self, groups: Iterable[PredictionGroup]) -> None:
        keys: list[str] = [self.keys.index]
        args: list[bytes | str | float] = [self.ttl_seconds, time.time()]
        args.append(self.index_size)
        for group in groups:
            keys.append(self.keys.group(group.id))
            args += [group.id, group.record()]
        await self._write_script(keys=keys, args=args)

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        group = self._writer.waiting(prediction_id)
        if group is not None:
            return group.prediction(prediction_id)
        record, feedback = await self._call(
            self._client.hmget(
                self.keys.of(prediction_id), [RECORD, FEEDBACK_FIELD + prediction_id]
            )
        )
        if record is None:
            return None
        found = PredictionGroup.from_record(record).prediction(prediction_id)
        if found is not None and feedback is not None:
            found["feedback"] = feedback_from_json(feedback)
        return found

    async def recent(self, limit: int) -> list[StoredPrediction]:
        """Return up to `limit` predictions, the most recent first, with feedback."""
        found: list[StoredPrediction] = []
        start, page = 0, FIRST_PAGE
        while len(found) < limit:
            group_ids = await self._call(
                self._client.zrevrange(self.keys.index, start, start + page - 1)
            )
            if not group_ids:
                break
            async with self._client.pipeline(transaction=False) as pipe:
                for group_id in group_ids:
                    pipe.hgetall(self.keys.group(group_id.decode()))
                groups = await self._call(pipe.execute())
            # An evicted or expired group may still be indexed: skip it.
            for fields in filter(None, groups):
                found.extend(with_feedback(fields, limit - len(found)))
                if len(found) == limit:
                    break
            start, page = start + page, min(2 * page, LAST_PAGE)
        return found

    async def _call(self, reply: Awaitable[Any]) -> Any:
        """Await a read; a Redis error becomes StoreUnavailable."""
        try:
            return await reply
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis read failed: {error!r}") from error

    async def add_feedback(
        self, prediction_id: str, feedback: Feedback
    ) -> StoredPrediction | None:
        if self._writer.waiting(prediction_id) is not None:
            raise StoreUnavailable("the prediction is not in redis yet")
        found = await self.get(prediction_id)
        if found is None:
            return None
        keys = [self.keys.of(prediction_id), self.keys.counts]
        args: list[bytes | str] = [
            FEEDBACK_FIELD + prediction_id,
            orjson.dumps(feedback),
            feedback["label"],
            found["label"],
        ]
        try:
            kept = await self._feedback_script(keys=keys, args=args)
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis write failed: {error!r}") from error
        if not kept:  # the group expired or was evicted since it was read
            return None
        found["feedback"] = feedback
        return found

    async def delete(self, prediction_id: str) -> bool:
        if self._writer.waiting(prediction_id) is not None:
            raise StoreUnavailable("the prediction is not in redis yet")
        key = self.keys.of(prediction_id)
        while True:  # again if another deletion rewrote the group in between
            record = await self._call(self._client.hget(key, RECORD))
            group = None if record is None else PredictionGroup.from_record(record)
            if group is None or prediction_id not in group.ids:
                return False
            rest = group.without(prediction_id)
            args = [
                record,
                b"" if rest is None else rest.record(),
                FEEDBACK_FIELD + prediction_id,
            ]
            try:
                if await self._delete_script(keys=[key], args=args):
                    return True
            except REDIS_ERRORS as error:
                raise StoreUnavailable(f"redis write failed: {error!r}") from error

    async def feedback_counts(self) -> FeedbackCounts:
        total, correct = await self._call(
            self._client.hmget(self.keys.counts, "total", "correct")
        )
        return FeedbackCounts(int(total or 0), int(correct or 0))

    async def save_monitor_run(self, run: MonitorRun) -> None:
        try:
            await self._client.set(self.keys.monitor_run, orjson.dumps(run))
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis write failed: {error!r}") from error

    async def last_monitor_run(self) -> MonitorRun | None:
        raw = await self._call(self._client.get(self.keys.monitor_run))
        return None if raw is None else MONITOR_RUN.validate_json(raw)

    async def evictions(self) -> int:
        """Keys that Redis evicted for lack of memory, since it started: Redis-wide
        (cluster-wide), so every server sharing this Redis reports the same number."""
        if isinstance(self._client, RedisCluster):  # the primaries', added up
            await self._call(self._client.initialize())
            total = 0
            for node in self._client.get_primaries():
                stats = await self._call(self._client.info("stats", target_nodes=node))
                total += int(stats["evicted_keys"])
            return total
        stats = await self._call(self._client.info("stats"))
        return int(stats["evicted_keys"])

    def problem(self) -> str | None:
        """Why predictions are not reaching Redis now, if they are not."""
        return self._writer.problem()

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except REDIS_ERRORS:
            return False

    def pending(self) -> int:
        return self._writer.pending()

    async def close(self) -> None:
        """Give the writer `drain_seconds` to write what it holds, then disconnect."""
        lost = await self._writer.drain(self.drain_seconds)
        if lost:
            log.error(
                "shutting down: %d predictions could not be written to redis", lost
            )
        await self._client.aclose()


def with_feedback(fields: dict[bytes, bytes], limit: int) -> list[StoredPrediction]:
    """Up to `limit` predictions of a group's hash, the last made first, each with its
    feedback."""
    group = PredictionGroup.from_record(fields[RECORD.encode()])
    predictions = group.predictions(limit)
    for one in predictions:
        feedback = fields.get((FEEDBACK_FIELD + one["prediction_id"]).encode())
        if feedback is not None:
            one["feedback"] = feedback_from_json(feedback)
    return predictions
