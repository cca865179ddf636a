"""Fixtures shared by the test modules; helpers and option sets live in baking.py."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from pytest_redis.executor import RedisExecutor

from baking import (
    COMBINATIONS,
    SECONDS_PER_CHAPTER,
    BakedProject,
    bake,
    cpu_seconds,
    free_port,
    needed,
    usable_cores,
)

CPU_SECONDS = "CPU seconds"
SETUP_CPU = pytest.StashKey[float]()
SHOWN = 10  # tests listed by CPU time at the end of a run


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[SETUP_CPU] = cpu_seconds()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each test's CPU time, from its setup to its teardown, in its last report: the
    suite runs on two busy cores, where CPU time, not waiting, sets its length."""
    report = yield
    if call.when == "teardown" and SETUP_CPU in item.stash:
        report.user_properties.append((CPU_SECONDS, cpu_seconds() - item.stash[SETUP_CPU]))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The run's CPU time, which bounds its wall time on this machine's cores, with the
    tests that used the most, and the course test's time per chapter (test_docs.py
    records it): every run's log shows where the suite spends its time."""
    spent: dict[str, float] = {}
    chapters: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", []):
                if name == CPU_SECONDS:
                    spent[report.nodeid] = value
                elif name == SECONDS_PER_CHAPTER:
                    chapters = value
    cores, cpu = usable_cores(), cpu_seconds()
    terminalreporter.section("CPU time")
    terminalreporter.line(
        f"{cpu:.0f} s, user and system: on {cores} cores, no schedule of this run's work"
        f" ends in less than {int(cpu / cores)} s"
    )
    if spent:
        terminalreporter.line(
            f"the {SHOWN} tests that used the most, with the fixtures each set up first:"
        )
        for nodeid, seconds in sorted(spent.items(), key=lambda item: -item[1])[:SHOWN]:
            terminalreporter.line(f"{seconds:7.1f} s  {nodeid}")
    if chapters:
        terminalreporter.section("the course's commands, seconds per chapter")
        for chapter, seconds in chapters.items():
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
