"""The Redis store: one key per prediction, with a time to live, written in batches
by one background writer that keeps what it could not write until Redis is back."""

import asyncio
import contextlib
import logging
import time
from itertools import islice

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .. import DISTRIBUTION, ENV_PREFIX
from .schemas import Feedback, StoredPrediction
from .store import FeedbackCounts, Records, StoreUnavailable

log = logging.getLogger(__name__)

# What a Redis call raises when the server is down, slow or refuses the command.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)

# Every prediction of a batch in one call, each with its time to live, and indexed by
# time in a sorted set, so that the most recent are cheap to read back (`recent`).
# KEYS: the index, then the predictions; ARGV: the time to live (seconds, 0: forever),
# the time now (seconds), then the records.
WRITE = """
local ttl = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
for i = 2, #KEYS do
    if ttl > 0 then
        redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
    else
        redis.call('SET', KEYS[i], ARGV[i + 1])
    end
    redis.call('ZADD', KEYS[1], now, KEYS[i])
end
if ttl > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
end
return #KEYS - 1
"""

# Keep a feedback beside its prediction (expiring with it) and count it, atomically.
# KEYS: the prediction, its feedback, the counts; ARGV: the feedback, its label.
# Returns the prediction's record, or nil when there is no such prediction.
FEEDBACK = """
local record = redis.call('GET', KEYS[1])
if not record then
    return false
end
local predicted = cjson.decode(record)['label']
local previous = redis.call('GET', KEYS[2])
if previous then
    redis.call('HINCRBY', KEYS[3], 'total', -1)
    if cjson.decode(previous)['label'] == predicted then
        redis.call('HINCRBY', KEYS[3], 'correct', -1)
    end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
    redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
else
    redis.call('SET', KEYS[2], ARGV[1])
end
redis.call('HINCRBY', KEYS[3], 'total', 1)
redis.call('HINCRBY', KEYS[3], 'correct', ARGV[2] == predicted and 1 or 0)
return record
"""


def settle(waiter: "asyncio.Future[bool]", written: bool) -> None:
    """Tell a waiting caller whether its predictions were written (once only)."""
    if not waiter.done():
        waiter.set_result(written)


def stored(
    record: bytes | str | None, feedback: bytes | str | None
) -> StoredPrediction | None:
    """Build a stored prediction from its record and its feedback's, if any."""
    if record is None:
        return None
    found = StoredPrediction.model_validate_json(record)
    if feedback is not None:
        found.feedback = Feedback.model_validate_json(feedback)
    return found


class RedisStore:
    """One Redis key per prediction, written by one background writer.

    `save` hands predictions to the writer and waits for it at most `timeout` seconds.
    The writer sends everything handed to it since its last write in one round trip
    (one script call sets every key with its TTL), so concurrent requests share round
    trips. What it could not write (Redis down or
    too slow) waits in a bounded backlog, which the writer retries every `retry_after`
    seconds, with no new request needed, until Redis answers; a success removes from
    the backlog exactly what it wrote. While Redis is down, `save` puts predictions
    straight into the backlog rather than make every request wait for a timeout. At
    shutdown, `close` gives the writer `drain_seconds` to empty the backlog. Only an
    outage that outlasts the backlog loses predictions: they are counted in `dropped`.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        ttl_seconds: int = 0,
        backlog_size: int = 10_000,
        retry_after: float = 1.0,
        drain_seconds: float = 5.0,
        namespace: str = DISTRIBUTION,
    ) -> None:
        self.timeout = timeout
        self.ttl_seconds = ttl_seconds
        self.backlog_size = backlog_size
        self.retry_after = retry_after
        self.drain_seconds = drain_seconds
        self.failed_writes = 0
        self.dropped = 0
        self._prefix = f"{namespace}:prediction:"
        self._feedback_prefix = f"{namespace}:feedback:"
        self._index = f"{namespace}:predictions"
        self._counts = f"{namespace}:feedback-counts"
        self._down = False
        self._overflow_logged = False
        self._backlog: dict[str, bytes] = {}
        self._handed: list[tuple[Records, asyncio.Future[bool]]] = []
        self._writing: dict[str, bytes] = {}
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

    def key(self, prediction_id: str) -> str:
        return self._prefix + prediction_id

    def feedback_key(self, prediction_id: str) -> str:
        return self._feedback_prefix + prediction_id

    async def save(self, records: Records) -> None:
        """Store records; raise StoreUnavailable if they are only in memory yet."""
        if self._down:
            self._defer(records)
            raise StoreUnavailable("redis is unreachable: kept in the backlog")
        loop = asyncio.get_running_loop()
        written = loop.create_future()
        self._handed.append((records, written))
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
        fresh = {key: value for records, _ in handed for key, value in records.items()}
        self._writing = {**self._backlog, **fresh}
        try:
            if self._writing:
                async with asyncio.timeout(self.timeout):
                    await self._write(self._writing)
        except asyncio.CancelledError:
            self._handed[:0] = handed  # stopped mid-write: close() counts them
            raise
        except REDIS_ERRORS as error:
            if not self._down:
                log.warning(
                    "redis write failed (%r): keeping predictions in memory", error
                )
            self._down = True
            self._defer(fresh)
            written = False
        else:
            for prediction_id in self._writing:
                self._backlog.pop(prediction_id, None)
            if self._down:
                log.info("redis is back: wrote %d kept predictions", len(self._writing))
            self._down = self._overflow_logged = False
            written = True
        finally:
            self._writing = {}
        for _, waiter in handed:
            settle(waiter, written)

    async def _write(self, records: Records) -> None:
        keys = [self._index, *(self.key(prediction_id) for prediction_id in records)]
        args: list[bytes | float] = [self.ttl_seconds, time.time(), *records.values()]
        await self._write_script(keys=keys, args=args)

    def _defer(self, records: Records) -> None:
        """Keep records for a later write, dropping the oldest beyond its size."""
        self.failed_writes += len(records)
        self._backlog.update(records)
        overflow = len(self._backlog) - self.backlog_size
        if overflow <= 0:
            return
        for prediction_id in list(islice(self._backlog, overflow)):
            del self._backlog[prediction_id]
        self.dropped += overflow
        if not self._overflow_logged:
            log.error(
                "the backlog of %d predictions is full: dropping the oldest until"
                " redis is back (%sSTORE_BACKLOG_SIZE)",
                self.backlog_size,
                ENV_PREFIX,
            )
            self._overflow_logged = True

    def _waiting(self, prediction_id: str) -> bytes | None:
        """Return the record of a prediction that is not in Redis yet, if it is one."""
        waiting = [
            self._backlog,
            self._writing,
            *(records for records, _ in self._handed),
        ]
        return next((r[prediction_id] for r in waiting if prediction_id in r), None)

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        record = self._waiting(prediction_id)
        if record is not None:
            return StoredPrediction.model_validate_json(record)
        [found] = await self._read([prediction_id])
        return found

    async def recent(self, limit: int) -> list[StoredPrediction]:
        try:
            keys = await self._client.zrevrange(self._index, 0, limit - 1)
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis read failed: {error!r}") from error
        ids = [
            key.decode()[len(self._prefix) :] for key in keys if isinstance(key, bytes)
        ]
        # Expired predictions may still be indexed for up to one write: skip them.
        return [found for found in await self._read(ids) if found is not None]

    async def _read(self, ids: list[str]) -> list[StoredPrediction | None]:
        """Read predictions with their feedback, in chunks of one round trip each."""
        found: list[StoredPrediction | None] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            keys = [self.key(i) for i in chunk] + [self.feedback_key(i) for i in chunk]
            try:
                values = await self._client.mget(keys)
            except REDIS_ERRORS as error:
                raise StoreUnavailable(f"redis read failed: {error!r}") from error
            for record, feedback in zip(
                values[: len(chunk)], values[len(chunk) :], strict=True
            ):
                found.append(stored(record, feedback))
        return found

    async def add_feedback(
        self, prediction_id: str, feedback: Feedback
    ) -> StoredPrediction | None:
        if self._waiting(prediction_id) is not None:
            raise StoreUnavailable("the prediction is not in redis yet")
        keys = [self.key(prediction_id), self.feedback_key(prediction_id), self._counts]
        document = feedback.model_dump_json()
        try:
            record = await self._feedback_script(
                keys=keys, args=[document, feedback.label]
            )
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis write failed: {error!r}") from error
        return stored(record, document)

    async def feedback_counts(self) -> FeedbackCounts:
        try:
            total, correct = await self._client.hmget(self._counts, "total", "correct")
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis read failed: {error!r}") from error
        return FeedbackCounts(int(total or 0), int(correct or 0))

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except REDIS_ERRORS:
            return False

    def pending(self) -> int:
        return len(self._backlog)

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
        lost = len(self._backlog) + sum(len(records) for records, _ in self._handed)
        if lost:
            log.error(
                "shutting down: %d predictions could not be written to redis", lost
            )
        await self._client.aclose()
