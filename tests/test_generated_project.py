"""Baked projects install and pass their own checks, for real, with no edit.

These tests install dependencies, so they take minutes; `make test-fast` skips them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis

from baking import BakedProject, bake, tool_env
from conftest import free_port, wait_until

pytestmark = pytest.mark.slow

# Python 3.11 everywhere: it is the interpreter every machine running this suite has.
INSTALLED = {
    "defaults": {},
    "ruff": {"linter": "ruff", "experiment_tracking": "none", "orchestrator": "airflow"},
    # A 40-character name: generated code must stay formatted whatever the name's length.
    "pip": {
        "package_manager": "pip",
        "project_name": "Customer Lifetime Value Forecasting Tool",
        "license": "Proprietary",
    },
}

SETOSA = ["sepal_length_cm=5.0", "sepal_width_cm=3.4", "petal_length_cm=1.5", "petal_width_cm=0.2"]


@pytest.fixture(
    scope="module",
    # One xdist worker per project, so that each is installed once (see `make test`).
    params=[pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in sorted(INSTALLED)],
)
def installed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> BakedProject:
    project = bake(tmp_path_factory.mktemp(request.param), **INSTALLED[request.param])
    if request.param == "pip":
        # `make install` must also work before the folder is a git repository.
        shutil.rmtree(project.path / ".git")
        assert "Not a git repository yet" in project.run("make", "install")
        project.run("git", "init", "--quiet")
    project.run("make", "install")
    return project


def test_install_creates_the_environment_and_the_git_hook(installed: BakedProject) -> None:
    assert (installed.path / ".venv" / "bin" / "python").is_file()
    assert (installed.path / ".git" / "hooks" / "pre-commit").is_file()
    assert installed.has_file("uv.lock") == (installed.option("package_manager") == "uv")


def test_make_check_passes_with_no_edit(installed: BakedProject) -> None:
    output = installed.run("make", "check")

    assert "Required test coverage of 90" in output
    assert " passed" in output and " failed" not in output


def test_pre_commit_passes_on_every_file(installed: BakedProject) -> None:
    installed.run("git", "add", "--all")

    output = installed.run(".venv/bin/pre-commit", "run", "--all-files", "--color=never")

    assert "Failed" not in output
    for hook in ("lint (make lint)", "type check (make typecheck)", "check yaml"):
        assert hook in output


def test_the_pipeline_trains_a_model_that_predicts(installed: BakedProject) -> None:
    installed.run("make", "pipeline")

    metrics = json.loads(installed.read("reports/metrics.json"))
    assert metrics["accuracy"] >= 0.85
    command = Path(".venv/bin") / installed.path.name
    prediction = json.loads(installed.run(str(command), "predict", *SETOSA))
    assert prediction["label"] == "setosa"


def test_make_clean_removes_outputs_but_keeps_the_folders(installed: BakedProject) -> None:
    installed.run("make", "pipeline")

    installed.run("make", "clean")

    assert not installed.has_file("models/model.joblib")
    assert installed.has_file("models/.gitkeep")
    assert installed.has_file("data/raw/.gitkeep")


def http(method: str, url: str, body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_served_predictions_land_in_redis(installed: BakedProject, redis_url: str) -> None:
    installed.run("make", "pipeline")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(installed.path / ".venv/bin" / installed.path.name), "serve"]
        + ["--port", str(port), "--workers", "2"],
        cwd=installed.path,
        env=tool_env(REDIS_URL=redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def answers() -> bool:
        try:
            return bool(http("GET", f"{base}/health")["status"] == "ok")
        except (urllib.error.URLError, ConnectionError):
            assert server.poll() is None, server.communicate()[0]
            return False

    try:
        wait_until(answers, "the baked project's API", seconds=120)
        row = dict(item.split("=") for item in SETOSA)
        created = http("POST", f"{base}/predict", {k: float(v) for k, v in row.items()})
        stored = http("GET", f"{base}/predictions/{created['prediction_id']}")
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[0]

    assert created["label"] == "setosa"
    assert stored["prediction_id"] == created["prediction_id"]
    key = f"{installed.path.name}:prediction:{created['prediction_id']}"
    assert json.loads(redis.Redis.from_url(redis_url).get(key) or "{}")["label"] == "setosa"
    assert "storing predictions in Redis" in log


def test_the_airflow_dag_runs_the_pipeline(installed: BakedProject) -> None:
    if installed.option("orchestrator") != "airflow":
        pytest.skip("this project has no DAG (orchestrator=none)")
    for output in ("models/model.joblib", "reports/metrics.json"):
        (installed.path / output).unlink(missing_ok=True)

    output = installed.run("make", "airflow-test", timeout=900)

    assert "2 passed" in output
    assert installed.has_file("models/model.joblib")
    assert installed.has_file("reports/metrics.json")
