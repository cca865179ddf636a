"""What every request leaves behind: its latency in /metrics and, with the access log
on, one JSON line carrying a request id that the response also returns.

The latency is labelled by the route's template (`/predictions/{prediction_id}`), not
the path, which keeps the number of series bounded; requests that match no route are
labelled `unmatched`.

`<PREFIX>_ACCESS_LOG=json` (the default) writes, to standard output, a line such as
`{"request_id": "...", "method": "POST", "path": "/predict", "status": 200,
"duration_ms": 1.7}`. The id is the request's own `X-Request-ID` when it sends a
usable one (a proxy's, say), else a new one, and the response carries it back: a
client that quotes it finds its request in the logs. `off` writes nothing, for a
platform whose proxy logs every request already.

Speed: the line is written straight to standard output, not through `logging`. In
alternating wrk runs against `serve`, `/predict` answered 5,560 requests/s through
`logging`, 6,200 written, 6,430 with the log off (benchmarks/pieces.py times the line
both ways).
"""

import contextlib
import re
import secrets
import sys
from time import perf_counter

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics

HEADER = b"x-request-id"
# An incoming id is kept only if it is short and plain: it is written into logs.
USABLE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def request_id(scope: Scope) -> bytes:
    """The request's own usable X-Request-ID, or a new random one."""
    for name, value in scope["headers"]:
        if name == HEADER and USABLE_ID.fullmatch(value):
            return bytes(value)
    return secrets.token_hex(16).encode()


def write_line(line: dict[str, object]) -> None:
    """One JSON line on standard output, flushed at once as a log handler would."""
    # A log line that cannot be written must not fail the request it describes, as
    # with logging: standard output closed, or a pipe that broke or is full.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()


class RequestRecorder:
    """ASGI middleware, the outermost, so that it also sees refusals.

    It reads the app's Metrics when a request comes, which is after the lifespan made
    them.
    """

    def __init__(self, app: ASGIApp, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        identifier = request_id(scope) if self.access_log else None
        status = 500  # unless the app answers: an exception escaped it

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if identifier is not None:
                    headers = [*message.get("headers", []), (HEADER, identifier)]
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = perf_counter() - started
            template = getattr(scope.get("route"), "path", "unmatched")
            metrics: Metrics = scope["app"].state.metrics
            metrics.observe(scope["method"], template, status, seconds)
            if identifier is not None:
                line = {
                    "request_id": identifier.decode(),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                }
                write_line(line)
