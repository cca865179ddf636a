"""Where predictions are kept: Redis when REDIS_URL is set, else a bounded dict.

Both stores raise StoreUnavailable, and only that, when they cannot do their job, so
the API can keep answering predictions while the store is down.
"""

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..settings import Settings
from .schemas import StoredPrediction

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store did not answer in time, or answered with an error."""


class PredictionStore(Protocol):
    name: str
    failed_writes: int
    dropped: int

    async def save(self, predictions: Sequence[StoredPrediction]) -> None: ...

    async def get(self, prediction_id: str) -> StoredPrediction | None: ...

    async def ping(self) -> bool: ...

    def pending(self) -> int: ...

    async def close(self) -> None: ...


class MemoryStore:
    """Keeps the most recent predictions of this process; the oldest are dropped."""

    name = "memory"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.failed_writes = 0
        self.dropped = 0
        self._items: OrderedDict[str, StoredPrediction] = OrderedDict()

    async def save(self, predictions: Sequence[StoredPrediction]) -> None:
        for prediction in predictions:
            self._items[prediction.prediction_id] = prediction
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
            self.dropped += 1

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        return self._items.get(prediction_id)

    async def ping(self) -> bool:
        return True

    def pending(self) -> int:
        return 0

    async def close(self) -> None:
        self._items.clear()


class RedisStore:
    """One Redis key per prediction, written in one round trip per request or fewer.

    Concurrent requests share round trips: while one write is in flight, the next
    callers queue up, and the first of them to get the lock writes for all of them.
    Writes that fail while Redis is unreachable wait in a bounded in-memory backlog and
    go out with the next write that succeeds, so an outage loses no prediction unless
    it outlasts the backlog. After a failure, Redis is left alone for `retry_after`
    seconds, so that an outage does not cost every request a timeout.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        ttl_seconds: int | None = None,
        backlog_size: int = 10_000,
        retry_after: float = 1.0,
        namespace: str = "{{ cookiecutter.project_slug }}",
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.retry_after = retry_after
        self.failed_writes = 0
        self.dropped = 0
        self._retry_at = 0.0
        self._prefix = f"{namespace}:prediction:"
        self._backlog: deque[StoredPrediction] = deque(maxlen=backlog_size)
        self._queue: list[tuple[Sequence[StoredPrediction], asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()
        # No retries inside redis-py: the API answers without the store rather than
        # waiting, and the backlog resends what failed.
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), retries=0),
        )

    def key(self, prediction_id: str) -> str:
        return self._prefix + prediction_id

    async def save(self, predictions: Sequence[StoredPrediction]) -> None:
        """Store predictions; raise StoreUnavailable if only the backlog took them."""
        if time.monotonic() < self._retry_at:
            self._defer(predictions)
            raise StoreUnavailable("redis is unreachable: kept in the backlog")
        written = asyncio.get_running_loop().create_future()
        self._queue.append((predictions, written))
        async with self._lock:
            if not written.done():
                await self._flush()
        written.result()

    async def _flush(self) -> None:
        """Write the backlog and everything queued so far, then tell each caller."""
        queued, self._queue = self._queue, []
        fresh = [prediction for predictions, _ in queued for prediction in predictions]
        batch = [*self._backlog, *fresh]
        failure = None
        try:
            await self._write(batch)
        except (RedisError, OSError, TimeoutError) as error:
            if self._retry_at == 0.0:
                log.warning(
                    "redis write failed (%r): keeping predictions in memory", error
                )
            self._retry_at = time.monotonic() + self.retry_after
            self._defer(fresh)
            failure = f"redis write failed: {error!r}"
        except BaseException:
            self._queue[:0] = queued  # cancelled: the next caller writes them
            raise
        else:
            if self._retry_at:
                log.info("redis is back: wrote %d pending predictions", len(batch))
                self._retry_at = 0.0
            self._backlog.clear()
        for _, written in queued:
            if failure is None:
                written.set_result(None)
            else:
                written.set_exception(StoreUnavailable(failure))

    async def _write(self, batch: Sequence[StoredPrediction]) -> None:
        """One round trip for the whole batch.

        MSET writes many keys in one command; with a TTL, which MSET cannot set, each
        key gets its own SET in one pipeline. The client's socket timeouts bound the
        call, and redis-py does not retry.
        """
        values = {self.key(p.prediction_id): p.model_dump_json() for p in batch}
        if self.ttl_seconds is None:
            await self._client.mset(values)
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, value in values.items():
                pipe.set(key, value, ex=self.ttl_seconds)
            await pipe.execute()

    def _defer(self, predictions: Sequence[StoredPrediction]) -> None:
        self.failed_writes += len(predictions)
        room = (self._backlog.maxlen or 0) - len(self._backlog)
        self.dropped += max(0, len(predictions) - room)
        self._backlog.extend(predictions)

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        for waiting in self._backlog:
            if waiting.prediction_id == prediction_id:
                return waiting
        try:
            raw = await self._client.get(self.key(prediction_id))
        except (RedisError, OSError, TimeoutError) as error:
            raise StoreUnavailable(f"redis read failed: {error!r}") from error
        return None if raw is None else StoredPrediction.model_validate_json(raw)

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    def pending(self) -> int:
        return len(self._backlog)

    async def close(self) -> None:
        await self._client.aclose()


def open_store(settings: Settings) -> PredictionStore:
    """Redis when a URL is configured, else the in-process store; logs which."""
    if settings.redis_url is None:
        log.info("storing predictions in memory (set REDIS_URL to use Redis)")
        return MemoryStore(settings.memory_store_size)
    address = urlsplit(settings.redis_url)
    log.info("storing predictions in Redis at %s:%s", address.hostname, address.port)
    return RedisStore(
        settings.redis_url,
        timeout=settings.redis_timeout_seconds,
        ttl_seconds=settings.prediction_ttl_seconds,
        backlog_size=settings.store_backlog_size,
    )
