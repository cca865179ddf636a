"""Fixtures shared by every test module; helpers live in servers.py and derived.py."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from derived import labelled_frame
from pytest_redis.executor import RedisExecutor
from servers import environment, redis_cluster, redis_server, redis_url

from {{ cookiecutter.module_name }} import dataset
from {{ cookiecutter.module_name }}.params import Params, load_params
from {{ cookiecutter.module_name }}.pipeline.runner import run
from {{ cookiecutter.module_name }}.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Queue the slow tests first. The worker that gets them runs them first, while
    the others take quick tests off the end of its queue (`--dist worksteal` in the
    Makefile): the workers finish together, rather than one running the longest test
    alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run every test in an empty folder, with none of the shell's settings, on rows
    made from the data module's declaration.

    Whatever a setting puts in the working directory by default never lands in the
    project, and neither the project's `.env` nor the shell's variables apply. The data
    set's own `load()` may read a file that a checkout or CI does not have.
    """
    folder = tmp_path_factory.mktemp("workdir")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(dataset, "load", labelled_frame)
        patch.setattr(dataset, "SOURCE_FILES", ())  # what the real load() reads
        for name in Settings.variables():
            patch.delenv(name, raising=False)
        yield folder


def folder_settings(root: Path) -> Settings:
    """Settings that keep every pipeline file below `root`, with no Redis."""
    return Settings(
        data_dir=root / "data",
        models_dir=root / "models",
        reports_dir=root / "reports",
        params_file=PROJECT_ROOT / "configs" / "params.yaml",
        lock_file=root / "pipeline.lock",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return folder_settings(tmp_path)


@pytest.fixture
def params(settings: Settings) -> Params:
    """The parameters the project ships with."""
    return load_params(settings.params_file)


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Settings:
    """Settings of a pipeline that has run once, up to date, shared by the tests that
    only read a trained model's files.

    `make test`'s workers share one folder, in the session's temporary folder that holds
    theirs: the first to get here trains, a worker that comes while it trains waits on
    the pipeline's own lock, and each then finds every step up to date. A slow
    estimator trains once per session, not once per worker.
    """
    if hasattr(pytestconfig, "workerinput"):  # a pytest-xdist worker
        root = tmp_path_factory.getbasetemp().parent / "trained"
        root.mkdir(exist_ok=True)
    else:
        root = tmp_path_factory.mktemp("trained")
    settings = folder_settings(root)
    for _ in run(settings, load_params(settings.params_file)):
        pass
    return settings


@pytest.fixture
def isolated_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the environment at the test folder, as a user's .env would."""
    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
def trained_env(trained: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the environment at the session's trained pipeline, for a test that only
    reads it (training once per session keeps a slow estimator's cost to once)."""
    for name, value in environment(trained).items():
        monkeypatch.setenv(name, value)
    return trained


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server that the whole session shares."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield redis_url(server)


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of one node of a three-node Redis Cluster that the session shares."""
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as (url, _):
        yield url


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisExecutor]:
    """A redis-server of the test's own, which it may stop, restart or stall."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server
