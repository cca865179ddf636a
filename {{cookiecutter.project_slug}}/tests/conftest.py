import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from {{ cookiecutter.module_name }}.params import Params, load_params
from {{ cookiecutter.module_name }}.pipeline import STEPS
from {{ cookiecutter.module_name }}.settings import ENV_PREFIX, Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def folder_settings(root: Path) -> Settings:
    """Settings that keep every pipeline file below `root`, with no Redis."""
    return Settings(
        data_dir=root / "data",
        models_dir=root / "models",
        reports_dir=root / "reports",
        params_file=PROJECT_ROOT / "configs" / "params.yaml",
        lock_file=root / "pipeline.lock",
        redis_url=None,
    )


{% if cookiecutter.experiment_tracking == "mlflow" -%}
@pytest.fixture(scope="session", autouse=True)
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One MLflow store for the whole session, outside the project folder."""
    folder = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        patch.setenv(f"{ENV_PREFIX}MLFLOW_ARTIFACTS_DIR", str(folder / "artifacts"))
        yield folder


{% endif -%}
@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return folder_settings(tmp_path)


@pytest.fixture
def params(settings: Settings) -> Params:
    """The parameters the project ships with."""
    return load_params(settings.params_file)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a pipeline that has run once, shared by the serving tests."""
    settings = folder_settings(tmp_path_factory.mktemp("trained"))
    params = load_params(settings.params_file)
    for step in STEPS:
        step.run(settings, params)
    return settings


@pytest.fixture
def isolated_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the environment at the test folder, as a user's .env would."""
    for name in ("data_dir", "models_dir", "reports_dir", "params_file", "lock_file"):
        value = str(getattr(settings, name))
        monkeypatch.setenv(f"{ENV_PREFIX}{name.upper()}", value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(settings.data_dir.parent)
    return settings


class RedisServer:
    """A real redis-server on a free loopback port, which a test may stop and start."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def redis_server_binary() -> str:
    """redis-server's path; a missing server skips locally and fails under CI."""
    found = shutil.which("redis-server")
    if found is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run the Redis tests")
        pytest.skip(reason)
    return found


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server, for tests that stop it mid-way."""
    server = RedisServer(redis_server_binary(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when given, else a server started for the session."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    server = RedisServer(redis_server_binary(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()
