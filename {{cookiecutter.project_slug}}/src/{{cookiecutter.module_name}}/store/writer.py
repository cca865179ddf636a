"""Write-behind: a request hands its predictions over and waits a bounded time; one
background task writes what was handed over in rounds, and keeps what it could not
write in a bounded backlog that it retries until the store answers again."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from .. import ENV_PREFIX
from .contract import StoreUnavailable
from .groups import PredictionGroup, group_id_of

log = logging.getLogger(__name__)

Groups = dict[str, PredictionGroup]  # by group id
Write = Callable[[Iterable[PredictionGroup]], Awaitable[None]]

# While closing, how often to check whether the backlog is empty.
DRAIN_POLL_SECONDS = 0.05


class WriteBehind:
    """Writes groups with `write` from one background task.

    `save` hands a group to the task and waits for it at most `timeout` seconds. The
    task writes every group handed to it since its last write in one call, so that
    concurrent requests share round trips. What it could not write (`errors` raised, or
    too slow) waits in a backlog of at most `backlog_size` predictions, which the task
    retries every `retry_after` seconds with no new request needed; a success removes
    exactly what it wrote. While the store is down, `save` puts groups straight into
    the backlog rather than make every request wait for a timeout. `drain` gives the
    task a last chance at shutdown. Only an outage that outlasts the backlog loses
    predictions: they are counted in `dropped`.
    """

    def __init__(
        self,
        write: Write,
        *,
        name: str,
        errors: tuple[type[BaseException], ...],
        timeout: float,
        backlog_size: int,
        retry_after: float,
    ) -> None:
        self.write = write
        self.name = name
        self.errors = errors
        self.timeout = timeout
        self.backlog_size = backlog_size  # predictions, not groups
        self.retry_after = retry_after
        self.failed_writes = 0
        self.dropped = 0
        self.down = False
        self.error = ""  # why the last write failed
        self._overflow_logged = False
        self._backlog: Groups = {}
        self._pending = 0  # predictions in the backlog
        self._handed: list[tuple[PredictionGroup, asyncio.Future[bool]]] = []
        self._writing: Groups = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def save(self, group: PredictionGroup) -> None:
        """Have a group written; raise StoreUnavailable if it is only in memory yet."""
        if self.down:
            self._defer([group])
            raise StoreUnavailable(f"{self.name} is unreachable: kept in the backlog")
        written = asyncio.get_running_loop().create_future()
        self._handed.append((group, written))
        self._start()
        self._wake.set()
        # At the deadline the caller stops waiting (the future is cancelled); the task
        # keeps the predictions: written later, or kept in the backlog.
        try:
            async with asyncio.timeout(self.timeout):
                if await written:
                    return
        except TimeoutError:
            pass
        raise StoreUnavailable(
            f"{self.name} did not answer in time: kept in the backlog"
        )

    def waiting(self, prediction_id: str) -> PredictionGroup | None:
        """Return the group of a prediction that is not written yet, if it is one."""
        group_id = group_id_of(prediction_id)
        waiting = [
            self._backlog.get(group_id),
            self._writing.get(group_id),
            *(group for group, _ in self._handed if group.id == group_id),
        ]
        return next((group for group in waiting if group is not None), None)

    def pending(self) -> int:
        """Predictions in the backlog."""
        return self._pending

    def problem(self) -> str | None:
        """Why predictions are not being written now, if they are not."""
        if self.down:
            return f"{self.name} writes are failing: {self.error}"
        if self._pending:
            return f"{self._pending} predictions wait to be written to {self.name}"
        return None

    async def drain(self, seconds: float) -> int:
        """Give the task `seconds` to write what it holds, then stop it; return the
        number of predictions left unwritten."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (self._handed or self._backlog or self._writing) and (
            loop.time() < deadline
        ):
            self._start()
            self._wake.set()
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self._pending + sum(len(group) for group, _ in self._handed)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write_forever())

    async def _write_forever(self) -> None:
        while True:
            if not self._handed and (self.down or not self._backlog):
                # Nothing to write now: wait for a caller, or retry after an outage.
                wait = self.retry_after if self.down else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
            self._wake.clear()
            await self._write_round()

    async def _write_round(self) -> None:
        """Write the backlog and what was handed over since, in one call."""
        handed, self._handed = self._handed, []
        fresh = [group for group, _ in handed]
        self._writing = {**self._backlog, **{group.id: group for group in fresh}}
        try:
            if self._writing:
                async with asyncio.timeout(self.timeout):
                    await self.write(self._writing.values())
        except asyncio.CancelledError:
            self._handed[:0] = handed  # stopped mid-write: drain() counts them
            raise
        except self.errors as error:
            if not self.down:
                log.warning(
                    "%s write failed (%r): keeping predictions in memory",
                    self.name,
                    error,
                )
            self.down = True
            self.error = f"{type(error).__name__}: {error}"
            self._defer(fresh)
            written = False
        else:
            for group_id in self._writing:
                self._forget(group_id)
            if self.down:
                kept = sum(len(group) for group in self._writing.values())
                log.info("%s is back: wrote %d kept predictions", self.name, kept)
            self.down = self._overflow_logged = False
            written = True
        finally:
            self._writing = {}
        for _, waiter in handed:
            if not waiter.done():  # its caller may have stopped waiting
                waiter.set_result(written)

    def _defer(self, groups: list[PredictionGroup]) -> None:
        """Keep groups for a later write, dropping the oldest beyond the backlog's
        size."""
        for group in groups:
            self.failed_writes += len(group)
            self._forget(group.id)
            self._backlog[group.id] = group
            self._pending += len(group)
        while self._pending > self.backlog_size:
            self.dropped += self._forget(next(iter(self._backlog)))
            if not self._overflow_logged:
                log.error(
                    "the backlog of %d predictions is full: dropping the oldest until"
                    " %s is back (%sSTORE_BACKLOG_SIZE)",
                    self.backlog_size,
                    self.name,
                    ENV_PREFIX,
                )
                self._overflow_logged = True

    def _forget(self, group_id: str) -> int:
        """Take a group out of the backlog; return its number of predictions."""
        group = self._backlog.pop(group_id, None)
        size = len(group) if group is not None else 0
        self._pending -= size
        return size
