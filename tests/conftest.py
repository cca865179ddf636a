from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from baking import BakedProject, bake

# Named option sets. Together they give every choice of every option at least once
# (test_options.py checks that), and they exercise answers that need escaping.
COMBINATIONS: dict[str, dict[str, str]] = {
    "defaults": {},
    "ruff-airflow": {
        "python_version": "3.12",
        "license": "BSD-3-Clause",
        "linter": "ruff",
        "experiment_tracking": "none",
        "orchestrator": "airflow",
    },
    "pip-apache": {
        "python_version": "3.13",
        "license": "Apache-2.0",
        "package_manager": "pip",
        "experiment_tracking": "none",
    },
    "proprietary-quoted": {
        "project_name": 'Zoë\'s "Fraud" Scoring',
        "description": 'Scores "risky" payments: <fast> & {simple}',
        "author_name": 'O\'Brien "Ana" \\ Co',
        "license": "Proprietary",
        "package_manager": "pip",
        "linter": "ruff",
        "orchestrator": "airflow",
    },
}


@pytest.fixture(scope="session", params=sorted(COMBINATIONS))
def baked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    """One project per named option set, baked once for the whole session."""
    return bake(tmp_path_factory.mktemp(request.param), **COMBINATIONS[request.param])


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll `ready()` until it returns true; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} was not ready after {seconds} s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port: skipped without one, except under CI."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run the Redis tests")
        pytest.skip(reason)
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_until(answers, "redis-server")
    yield url
    server.terminate()
    server.wait(timeout=10)
