"""What slow clients can hold: requests whose body has not fully arrived.

uvicorn bounds the open connections (`limit_concurrency`, see cli.py) and answers 503
beyond them before the app runs, to the probes too. Inside that bound, this middleware
keeps the *incomplete* requests, those still receiving their body, under
`max_incomplete`, answering 503 with Retry-After beyond them, except to the probes: a
server that slow clients keep busy is still alive and ready. A request waiting for the
model or for Redis has its body already, and does not count. Each body must arrive
within `body_seconds`, else the answer is 408 and the connection is closed.

What it cannot bound is a client that sends its headers slowly: uvicorn has no timeout
for those, and the proxy in front covers it (deploy/kubernetes/README.md).
"""

import asyncio

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths that the limit never refuses: what Kubernetes and Docker probe.
PROBES = frozenset({"/health"})


class RequestLimits:
    def __init__(self, app: ASGIApp, max_incomplete: int, body_seconds: float) -> None:
        self.app = app
        self.max_incomplete = max_incomplete
        self.body_seconds = body_seconds
        self.incomplete = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if self.incomplete >= self.max_incomplete:
            busy = JSONResponse(
                {"detail": "the server is busy: retry in a second"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
            await busy(scope, receive, send)
            return
        self.incomplete += 1
        receiving = True

        def received() -> None:
            nonlocal receiving
            if receiving:
                receiving = False
                self.incomplete -= 1

        deadline = asyncio.get_running_loop().time() + self.body_seconds

        async def receive_in_time() -> Message:
            if not receiving:  # later calls wait for the client to leave: no body
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                received()
                raise HTTPException(
                    408,
                    f"the request body did not arrive within {self.body_seconds:g} s",
                    headers={"Connection": "close"},
                ) from None
            if not message.get("more_body", False):
                received()
            return message

        try:
            await self.app(scope, receive_in_time, send)
        finally:
            received()
