"""Where predictions are kept: Redis when REDIS_URL is set, else a bounded dict.

Both stores raise StoreUnavailable, and only that, when they cannot do their job, so
the API can keep answering predictions while the store is down.
"""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from itertools import islice
from typing import Protocol
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .. import DISTRIBUTION, ENV_PREFIX
from ..settings import Settings
from .schemas import StoredPrediction

log = logging.getLogger(__name__)

# What a Redis call raises when the server is down, slow or refuses the command.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


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
    """One Redis key per prediction, written by one background writer.

    `save` hands predictions to the writer and waits for it at most `timeout` seconds.
    The writer sends everything handed to it since its last write in one round trip,
    so concurrent requests share round trips. What it could not write (Redis down or
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
        self._down = False
        self._overflow_logged = False
        self._backlog: dict[str, StoredPrediction] = {}
        self._handed: list[tuple[Sequence[StoredPrediction], asyncio.Future[bool]]] = []
        self._writing: dict[str, StoredPrediction] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        # No retries inside redis-py: the writer retries, and requests never wait.
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), retries=0),
        )

    def key(self, prediction_id: str) -> str:
        return self._prefix + prediction_id

    async def save(self, predictions: Sequence[StoredPrediction]) -> None:
        """Store predictions; raise StoreUnavailable if they are only in memory yet."""
        if self._down:
            self._defer(predictions)
            raise StoreUnavailable("redis is unreachable: kept in the backlog")
        written = asyncio.get_running_loop().create_future()
        self._handed.append((predictions, written))
        self._start_writer()
        self._wake.set()
        try:
            async with asyncio.timeout(self.timeout):
                if await asyncio.shield(written):
                    return
        except TimeoutError:
            pass  # the writer still has them: written later, or kept in the backlog
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
        fresh = [prediction for predictions, _ in handed for prediction in predictions]
        self._writing = {p.prediction_id: p for p in [*self._backlog.values(), *fresh]}
        try:
            if self._writing:
                async with asyncio.timeout(self.timeout):
                    await self._write(list(self._writing.values()))
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
            if not waiter.done():
                waiter.set_result(written)

    async def _write(self, batch: Sequence[StoredPrediction]) -> None:
        """Write a batch in one round trip: MSET, or one SET per key with a TTL."""
        values = {self.key(p.prediction_id): p.model_dump_json() for p in batch}
        if not self.ttl_seconds:
            await self._client.mset(values)
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, value in values.items():
                pipe.set(key, value, ex=self.ttl_seconds)
            await pipe.execute()

    def _defer(self, predictions: Sequence[StoredPrediction]) -> None:
        """Keep predictions for a later write, dropping the oldest beyond its size."""
        self.failed_writes += len(predictions)
        self._backlog.update((p.prediction_id, p) for p in predictions)
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

    async def get(self, prediction_id: str) -> StoredPrediction | None:
        for waiting in (self._backlog, self._writing):
            if prediction_id in waiting:
                return waiting[prediction_id]
        for predictions, _ in self._handed:
            for prediction in predictions:
                if prediction.prediction_id == prediction_id:
                    return prediction
        try:
            raw = await self._client.get(self.key(prediction_id))
        except REDIS_ERRORS as error:
            raise StoreUnavailable(f"redis read failed: {error!r}") from error
        return None if raw is None else StoredPrediction.model_validate_json(raw)

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
        lost = len(self._backlog) + sum(len(p) for p, _ in self._handed)
        if lost:
            log.error(
                "shutting down: %d predictions could not be written to redis", lost
            )
        await self._client.aclose()


def open_store(settings: Settings) -> PredictionStore:
    """Open Redis when a URL is configured, else the in-process store; log which."""
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
        drain_seconds=settings.store_drain_seconds,
    )
