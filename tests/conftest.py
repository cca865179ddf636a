"""Fixtures shared by the test modules; helpers and option sets live in baking.py."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_redis.executor import RedisExecutor

from baking import COMBINATIONS, SECONDS_PER_CHAPTER, BakedProject, bake, free_port, needed


def cpu_seconds() -> float:
    """User and system time of this process and of every child it has waited for
    (xdist's workers and, through them, the baked projects' commands and servers)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The run's CPU time, which bounds its wall time on this machine's cores, and the
    course test's time per chapter, so that every run's log shows where the suite's
    longest test spends it (test_docs.py records it)."""
    cores, cpu = os.cpu_count() or 1, cpu_seconds()
    terminalreporter.section("CPU time")
    terminalreporter.line(
        f"{cpu:.0f} s, user and system: on {cores} cores, no schedule of this run's work"
        f" ends in less than {cpu / cores:.0f} s"
    )
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
