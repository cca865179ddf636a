"""The served API against misuse, through the real `serve` command: keys that would
open it, and clients that send slowly."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from servers import api_server, environment, free_port

import {{ cookiecutter.module_name }} as package
from {{ cookiecutter.module_name }} import ENV_PREFIX
from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.settings import (
    MIN_API_KEY_LENGTH,
    Settings,
)

OLD_KEY = "old-" + "o" * MIN_API_KEY_LENGTH
NEW_KEY = "new-" + "n" * MIN_API_KEY_LENGTH


@pytest.mark.parametrize(
    "key",
    ["", "x" * (MIN_API_KEY_LENGTH - 1), f"{OLD_KEY},"],
    ids=["empty", "short", "an empty one in a list"],
)
def test_serve_refuses_a_key_that_would_open_or_weaken_the_api(
    trained: Settings, key: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", package.__name__, "serve", "--port", str(free_port())],
        env={**os.environ, **environment(trained), f"{ENV_PREFIX}API_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {ENV_PREFIX}API_KEY: every key needs at least {MIN_API_KEY_LENGTH}"
        " characters (unset it to serve without a key)"
    ]


@pytest.fixture(scope="module")
def rotating(
    trained: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of a server that accepts two keys, as during a rotation; its
    tests only read, so they share it."""
    log = (tmp_path_factory.mktemp("rotating") / "server.log").open("wb")
    executor, base = api_server(
        trained, log, **{f"{ENV_PREFIX}API_KEY": f"{OLD_KEY}, {NEW_KEY}"}
    )
    with log, executor:
        yield base


@pytest.mark.parametrize(
    ("key", "status"), [(OLD_KEY, 200), (NEW_KEY, 200), ("n" * 40, 401), ("", 401)]
)
def test_during_a_rotation_each_key_opens_the_api(
    rotating: str, key: str, status: int
) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    answer = httpx2.post(f"{rotating}/predict", json=EXAMPLE, headers=headers)

    assert answer.status_code == status


@pytest.fixture
def limited(trained: Settings, tmp_path: Path) -> Iterator[str]:
    """The base URL of a server that lets two requests at a time send their body,
    and waits one second for a body."""
    log = (tmp_path / "server.log").open("wb")
    limits = {
        f"{ENV_PREFIX}MAX_INCOMPLETE_REQUESTS": "2",
        f"{ENV_PREFIX}BODY_TIMEOUT_SECONDS": "1",
    }
    executor, base = api_server(trained, log, **limits)
    with log, executor:
        yield base


def half_sent(base: str) -> socket.socket:
    """A client that sends a prediction's headers and half its body, then waits."""
    address = urlsplit(base)
    client = socket.create_connection((address.hostname, address.port), timeout=10)
    body = json.dumps(EXAMPLE).encode()
    head = (
        "POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    client.sendall(head.encode() + body[: len(body) // 2])
    return client


def until_closed(client: socket.socket) -> bytes:
    """What the server sends until it closes the connection (10 s at most)."""
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    return received


@pytest.mark.slow
def test_slow_clients_hold_a_bounded_share_and_not_for_long(limited: str) -> None:
    slow = [half_sent(limited) for _ in range(2)]
    deadline = time.monotonic() + 5
    busy = httpx2.post(f"{limited}/predict", json=EXAMPLE)
    while busy.status_code == 200 and time.monotonic() < deadline:
        busy = httpx2.post(f"{limited}/predict", json=EXAMPLE)
    probe = httpx2.get(f"{limited}/health")

    # The body timeout ends the slow requests and closes their connections.
    answers = [until_closed(client) for client in slow]
    after = httpx2.post(f"{limited}/predict", json=EXAMPLE)
    metrics = httpx2.get(f"{limited}/metrics").text

    assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
    assert probe.status_code == 200  # probes are never refused by the limit
    assert [answer.split(b"\r\n")[0] for answer in answers] == [
        b"HTTP/1.1 408 Request Timeout"
    ] * 2
    assert after.status_code == 200
    # The refusals are counted in the request metrics.
    assert 'status="503"' in metrics and 'status="408"' in metrics
