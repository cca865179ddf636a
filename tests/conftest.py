"""Fixtures shared by the test modules; helpers and option sets live in baking.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_redis.executor import RedisExecutor

from baking import COMBINATIONS, SECONDS_PER_CHAPTER, BakedProject, bake, free_port, needed


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The course test's time per chapter, so that every run's log shows where the
    suite's longest test spends it (test_docs.py records it)."""
    reports = [*terminalreporter.stats.get("passed", []), *terminalreporter.stats.get("failed", [])]
    for report in reports:
        for name, spent in report.user_properties:
            if name == SECONDS_PER_CHAPTER:
                terminalreporter.section("the course's commands, seconds per chapter")
                for chapter, seconds in spent.items():
                    terminalreporter.line(f"{chapter:24} {seconds:5}")


@pytest.fixture(scope="session", params=sorted(COMBINATIONS))
def baked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    """One project per named option set, baked once for the whole session."""
    return bake(tmp_path_factory.mktemp(request.param), **COMBINATIONS[request.param])


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port (pytest-redis starts and stops it)."""
    server = RedisExecutor(
        executable=needed("redis-server", "apt-get install redis-server"),
        databases=1,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=free_port(),
        datadir=tmp_path_factory.mktemp("redis"),
    )
    with server:
        yield f"redis://{server.host}:{server.port}/0"
