"""The Redis store: a key per group of predictions (serving/groups.py), with a time to
live, written in batches by one background writer that keeps what it could not write
until Redis is back.

Every key it writes is bounded, so that a Redis with a `maxmemory` and the
`volatile-ttl` policy (compose.yaml) stays writable however long it runs:

- `{NS}:group:<group id>`, a hash: the group's record, and the feedback of each of its
  predictions beside it. It expires after the TTL. Under memory pressure, Redis evicts
  the groups closest to expiry, the oldest, first; their feedback goes with them.
- `{NS}:groups`, the index of groups by time, for `recent`: trimmed to the TTL and to
  `index_size` groups at each write, and expiring with the newest group.
- `{NS}:feedback-counts`, a hash of two counters.

NS is the namespace, in braces: a Redis Cluster keeps keys with the same `{tag}` in one
slot, which the scripts below need. The layout of template 1.0.0 is converted by
`migrate-store` (serving/redis_migration.py).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .. import DISTRIBUTION, ENV_PREFIX
from ..settings import INDEX_SIZE, THIRTY_DAYS
from .groups import PredictionGroup, group_id_of
from .schemas import Feedback, StoredPrediction
from .store import FeedbackCounts, StoreUnavailable

log = logging.getLogger(__name__)

# What a Redis call raises when the server is down, slow or refuses the command.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)

RECORD = "record"  # the field of a group's hash that holds its predictions
FEEDBACK_FIELD = "feedback:"  # then the prediction's id

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

Groups = dict[str, PredictionGroup]  # by group id


def settle(waiter: "asyncio.Future[bool]", written: bool) -> None:
    """Tell a waiting caller whether its predictions were written (once only)."""
    if not waiter.done():
        waiter.set_result(written)


class RedisStore:
    """One Redis key per group of predictions, written by one background writer.

    `save` hands a group to the writer and waits for it at most `timeout` seconds. The
    writer sends every group handed to it since its last write in one round trip (one
    script call sets every key with its TTL), so concurrent requests share round trips.
    What it could not write (Redis down or too slow) waits in a bounded backlog, which
    the writer retries every `retry_after` seconds, with no new request needed, until
    Redis answers; a success removes from the backlog exactly what it wrote. While
    Redis is down, `save` puts groups straight into the backlog rather than make every
    request wait for a timeout. At shutdown, `close` gives the writer `drain_seconds`
    to empty the backlog. Only an outage that outlasts the backlog loses predictions:
    they are counted in `dropped`.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        ttl_seconds: int = THIRTY_DAYS,
        index_size: int = INDEX_SIZE,
        backlog_size: int = 10_000,
        retry_after: float = 1.0,
        drain_seconds: float = 5.0,
        namespace: str = DISTRIBUTION,
    ) -> None:
        self.timeout = timeout
        self.ttl_seconds = ttl_seconds
        self.index_size = index_size  # groups
        self.backlog_size = backlog_size  # predictions, not groups
        self.retry_after = retry_after
        self.drain_seconds = drain_seconds
        self.failed_writes = 0
        self.dropped = 0
        self.namespace = namespace
        # The namespace in braces: Redis Cluster keeps the keys of one `{tag}` in one
        # slot, which the scripts need.
        tag = "{" + namespace + "}"
        self.group_prefix = f"{tag}:group:"
        self.index_key = f"{tag}:groups"
        self.counts_key = f"{tag}:feedback-counts"
        self._down = False
        self._error = ""  # why the last write failed
        self._overflow_logged = False
        self._backlog: Groups = {}
        self._backlog_size = 0  # predictions in the backlog
        self._handed: list[tuple[PredictionGroup, asyncio.Future[bool]]] = []
        self._writing: Groups = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        # No retries inside redis-py: the writer retries, and requests never wait.
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), retries=0),
        )
        self._write_script = self._client.register_script(WRITE)
        self._feedback_script = self._client.register_script(FEEDBACK)
        self._delete_script = self._client.register_script(DELETE)

    def key(self, prediction_id: str) -> str:
        """The key of the group that holds a prediction."""
        return self.group_prefix + group_id_of(prediction_id)

    async def save(self, group: PredictionGroup) -> None:
        """Store a group; raise StoreUnavailable if it is only in memory yet."""
        if self._down:
            self._defer([group])
            raise StoreUnavailable("redis is unreachable: kept in the backlog")
        loop = asyncio.get_running_loop()
        written = loop.create_future()
        self._handed.append((group, written))
        self._start_writer()
        self._wake.set()
        # At the deadline the caller stops waiting; the writer keeps the predictions
        # (written later, or kept in the backlog). A plain timer costs a request less
        # than asyncio.timeout.
        deadline = loop.call_later(self.timeout, settle, written, False)
        try:
            if await written:
                return
        finally:
            deadline.cancel()
        raise StoreUnavailable("redis did not answer in time: kept in the backlog")

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever())

    async def _write_forever(self) -> None:
        while True:
            if not self._handed and (self._down or not self._backlog):
                # Nothing to write now: wait for a caller, or retry after an outage.
                wait = self.retry_after if self._down else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
            self._wake.clear()
            await self._write_round()

    async def _write_round(self) -> None:
        """Write the backlog and what was handed over since, in one round trip."""
        handed, self._handed = self._handed, []
        fresh = [group for group, _ in handed]
        self._writing = {**self._backlog, **{group.id: group for group in fresh}}
        try:
            if self._writing:
                async with asyncio.timeout(self.timeout):
                    await self._write(self._writing.values())
        except asyncio.CancelledError:
            self._handed[:0] = handed  # stopped mid-write: close() counts them
            raise
        except REDIS_ERRORS as error:
            if not self._down:
                log.warning(
                    "redis write failed (%r): keeping predictions in memory", error
                )
            self._down = True
            self._error = f"{type(error).__name__}: {error}"
            self._defer(fresh)
            written = False
        else:
            for group_id in self._writing:
                self._forget(group_id)
            if self._down:
                log.info(
                    "redis is back: wrote %d kept predictions", count(self._writing)
                )
            self._down = self._overflow_logged = False
            written = True
        finally:
            self._writing = {}
        for _, waiter in handed:
            settle(waiter, written)

    async def _write(self, groups: Iterable[PredictionGroup]) -> None:
        keys: list[str] = [self.index_key]
        args: list[bytes | str | float] = [self.ttl_seconds, time.time()]
        args.append(self.index_size)
        for group in groups:
            keys.append(self.group_prefix + group.id)
            args += [group.id, group.record()]
        await self._write_script(keys=keys, args=args)

    def _defer(self, groups: list[PredictionGroup]) -> None:
        """Keep groups for a later write, dropping the oldest beyond the backlog's
        size."""
        for group in groups:
            self.failed_writes += len(group)
            self._forget(group.id)
            self._backlog[group.id] = group
            self._backlog_size += len(group)
        while self._backlog_size > self.backlog_size:
            self.dropped += self._forget(next(iter(self._backlog)))
            if not self._overflow_logged:
                log.error(
                    "the backlog of %d predictions is full: dropping the oldest until"
                    " redis is back (%sSTORE_BACKLOG_SIZE)",
                    self.backlog_size,
                    ENV_PREFIX,
                )
                self._overflow_logged = True

    def _forget(self, group_id: str) -> int:
        """Take a group out of the backlog; return its number of predictions."""
        group = self._backlog.pop(group_id, None)
        size = len(group) if group is not None else 0
        self._backlog_size -= size
        return size

    def _waiting(self, prediction_id: str) -> PredictionGroup | None:
        """Return the group of a prediction that is not in Redis yet, if it is one."""
        group_id = group_id_of(prediction_id)
        waiting = [
            self._backlog.get(group_id),
            self._writing.get(group_id),
            *(group for group, _ in self._handed if group.id == group_id),
        ]
        return next((group for group in waiting if group is not None), None)

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        group = self._waiting(prediction_id)
        if group is not None:
            return group.prediction(prediction_id)
        record, feedback = await self._call(
            self._client.hmget(
                self.key(prediction_id), [RECORD, FEEDBACK_FIELD + prediction_id]
            )
        )
        if record is None:
            return None
        found = PredictionGroup.from_record(record).prediction(prediction_id)
        if found is not None and feedback is not None:
            found.feedback = Feedback.model_validate_json(feedback)
        return found

    async def recent(self, limit: int) -> list[StoredPrediction]:
        """Return up to `limit` predictions, the most recent first, with feedback."""
        found: list[StoredPrediction] = []
        # Groups per round trip: a few first (a batch's group holds many predictions),
        # twice as many each time (single requests make groups of one).
        start, page = 0, 8
        while len(found) < limit:
            group_ids = await self._call(
                self._client.zrevrange(self.index_key, start, start + page - 1)
            )
            if not group_ids:
                break
            async with self._client.pipeline(transaction=False) as pipe:
                for group_id in group_ids:
                    pipe.hgetall(self.group_prefix + group_id.decode())
                groups = await self._call(pipe.execute())
            # An evicted or expired group may still be indexed: skip it.
            for fields in filter(None, groups):
                found.extend(with_feedback(fields, limit - len(found)))
                if len(found) == limit:
                    break
            start, page = start + page, min(2 * page, 512)
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
        if self._waiting(prediction_id) is not None:
            raise StoreUnavailable("the prediction is not in redis yet")
        found = await self.get(prediction_id)
        if found is None:
            return None
        keys = [self.key(prediction_id), self.counts_key]
        args = [
            FEEDBACK_FIELD + prediction_id,
            feedback.model_dump_json(),
            feedback.label,
            found.label,
        ]
        try:
            kept = await self._feedback_script(keys=keys, args=args)
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis write failed: {error!r}") from error
        if not kept:  # the group expired or was evicted since it was read
            return None
        found.feedback = feedback
        return found

    async def delete(self, prediction_id: str) -> bool:
        if self._waiting(prediction_id) is not None:
            raise StoreUnavailable("the prediction is not in redis yet")
        key = self.key(prediction_id)
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
            self._client.hmget(self.counts_key, "total", "correct")
        )
        return FeedbackCounts(int(total or 0), int(correct or 0))

    async def evictions(self) -> int:
        """Keys that Redis evicted for lack of memory, since it started: Redis-wide,
        so every server sharing this Redis reports the same number."""
        stats = await self._call(self._client.info("stats"))
        return int(stats["evicted_keys"])

    def problem(self) -> str | None:
        """Why predictions are not reaching Redis now, if they are not."""
        if self._down:
            return f"redis writes are failing: {self._error}"
        if self._backlog_size:
            return f"{self._backlog_size} predictions wait to be written to redis"
        return None

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except REDIS_ERRORS:
            return False

    def pending(self) -> int:
        return self._backlog_size

    async def close(self) -> None:
        """Give the writer `drain_seconds` to write what it holds, then disconnect."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds
        while (self._handed or self._backlog or self._writing) and (
            loop.time() < deadline
        ):
            self._start_writer()
            self._wake.set()
            await asyncio.sleep(0.05)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        lost = self._backlog_size + sum(len(group) for group, _ in self._handed)
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
        feedback = fields.get(f"{FEEDBACK_FIELD}{one.prediction_id}".encode())
        if feedback is not None:
            one.feedback = Feedback.model_validate_json(feedback)
    return predictions


def count(groups: Groups) -> int:
    """The number of predictions in groups."""
    return sum(len(group) for group in groups.values())
