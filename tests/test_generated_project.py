"""Baked projects install and pass their own checks, for real, with no edit.

These tests install dependencies, so they take minutes; `make test-fast` skips them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from baking import BakedProject, bake, free_port, needed, tool_env
from servers import (
    STORAGE_KEYS,
    bucket_keys,
    mlflow_server,
    postgres_server,
    running,
    s3_server,
)

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


def test_a_committed_lock_is_installed_as_it_is(installed: BakedProject) -> None:
    if installed.option("package_manager") != "uv":
        pytest.skip("pip writes no lock file: the project's README says how to pin")
    pyproject, lock = installed.path / "pyproject.toml", installed.path / "uv.lock"
    shipped, locked = pyproject.read_text(), lock.read_text()
    # An edit that the lock does not follow yet, as a teammate's unlocked change.
    pyproject.write_text(shipped.replace('version = "0.1.0"', 'version = "0.1.1"', 1))
    try:
        with pytest.raises(AssertionError, match="needs to be updated"):
            installed.run("make", "install")
        assert lock.read_text() == locked
    finally:
        pyproject.write_text(shipped)


def test_make_check_passes_with_no_edit(installed: BakedProject) -> None:
    if not installed.answers:
        # test_docs.py checks that the course keeps doing so.
        pytest.skip("the course test runs each part of the default project's make check")
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
    arguments = [f"{name}={value}" for name, value in installed.example().items()]
    prediction = json.loads(installed.run(str(command), "predict", *arguments))
    assert prediction["label"] == "setosa"


def test_make_clean_removes_outputs_but_keeps_the_folders(installed: BakedProject) -> None:
    installed.run("make", "pipeline")

    installed.run("make", "clean")

    assert not installed.has_file("models/model.joblib")
    assert installed.has_file("models/.gitkeep")
    assert installed.has_file("data/raw/.gitkeep")


def skip_where_only_the_installer_differs(project: BakedProject) -> None:
    """The pipeline's code depends on the tracking answer, not on the package manager:
    the default project (MLflow) and the ruff one (no tracking) cover both."""
    if project.option("package_manager") == "pip":
        pytest.skip("the pipeline is the default project's, whatever installs it")


def test_editing_the_data_module_reruns_the_pipeline(installed: BakedProject) -> None:
    skip_where_only_the_installer_differs(installed)
    installed.run("make", "pipeline")
    assert "skipped ingest: up to date" in pipeline_log(installed)
    dataset = installed.path / "src" / installed.module / "dataset.py"
    original = dataset.read_text()
    # As the README says: load your own data in dataset.py. Here, fewer flowers.
    dataset.write_text(original.replace("    return frame\n", "    return frame.head(120)\n"))
    try:
        output = pipeline_log(installed)
    finally:
        dataset.write_text(original)

    for step in ("ingest", "prepare", "train", "evaluate"):
        assert f"\n{step}: " in f"\n{output}", output
    assert "(120 rows)" in output
    assert "skipped" not in pipeline_log(installed)  # the original data is back


def test_renaming_the_features_and_target_in_the_data_module_alone_keeps_tests_green(
    installed: BakedProject,
) -> None:
    if installed.option("package_manager") != "uv" or installed.option("linter") == "ruff":
        pytest.skip("the generated tests are the same for every option: defaults run it")
    dataset = installed.path / "src" / installed.module / "dataset.py"
    original = dataset.read_text()
    renamed = original.replace('TARGET = "species"', 'TARGET = "variety"')
    for part in ("sepal", "petal"):
        renamed = renamed.replace(f"{part}_length_cm", f"{part}_long")
        renamed = renamed.replace(f"{part}_width_cm", f"{part}_wide")
    assert renamed.count("_long") == renamed.count("_wide") == 4  # field and example
    dataset.write_text(renamed)
    try:
        output = installed.run("make", "test", timeout=900)
    finally:
        dataset.write_text(original)

    assert re.search(r"\d+ passed", output) and " failed" not in output, output[-2000:]


def test_two_pipelines_at_once_run_one_after_the_other(installed: BakedProject) -> None:
    skip_where_only_the_installer_differs(installed)
    command = Path(".venv/bin") / installed.path.name
    runs = [
        subprocess.Popen(
            [command, "pipeline", "--force"],
            cwd=installed.path,
            env=tool_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs = [run.communicate(timeout=600)[1] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], logs
    assert sum("another pipeline run is under way" in log for log in logs) == 1, logs
    lock = json.loads(installed.read("pipeline.lock"))
    assert set(lock) == {"ingest", "prepare", "train", "evaluate"}


def pipeline_log(project: BakedProject) -> str:
    """What `make pipeline` printed (its steps log to stderr)."""
    done = subprocess.run(
        ["make", "pipeline"],
        cwd=project.path,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout + done.stderr


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
    command = [str(installed.path / ".venv/bin" / installed.path.name), "serve"]
    command += ["--port", str(port), "--workers", "2"]
    env = tool_env(REDIS_URL=redis_url)
    with running(command, "the API", f"{base}/health", 120, cwd=installed.path, env=env) as api:
        created = http("POST", f"{base}/predict", installed.example())
        stored = http("GET", f"{base}/predictions/{created['prediction_id']}")
        output = api.log.read_text()

    assert created["label"] == "setosa"
    assert stored["prediction_id"] == created["prediction_id"]
    # The prediction's group: its id's first 16 characters (serving/groups.py).
    key = "{" + installed.path.name + "}:group:" + created["prediction_id"][:16]
    group = json.loads(redis.Redis.from_url(redis_url).hget(key, "record") or "{}")
    row = group["ids"].index(created["prediction_id"])
    assert group["labels"][row] == "setosa"
    assert "storing predictions in Redis" in output


def test_score_reads_and_writes_object_storage_and_leaves_nothing_on_failure(
    installed: BakedProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`score` against moto's standalone S3 server, configured as a user would: the AWS
    variables and AWS_ENDPOINT_URL, with s3:// paths for the input and the output."""
    if installed.answers:
        pytest.skip("scoring is the same for every option: the default project runs it")
    installed.run("make", "pipeline")
    python = str(installed.path / ".venv/bin/python")
    score = [str(installed.path / ".venv/bin" / installed.path.name), "score"]
    # Three row groups of four rows; the last one breaks the data module's rules.
    example = installed.example()
    upload = (
        "import sys, pyarrow as pa, pyarrow.parquet as pq, pyarrow.fs as fs\n"
        f"rows = [{example!r}] * 8 + [{{**{example!r}, sys.argv[1]: -1.0}}] * 4\n"
        "s3, path = fs.FileSystem.from_uri(sys.argv[2])\n"
        "pq.write_table(pa.Table.from_pylist(rows), path, filesystem=s3, row_group_size=4)\n"
    )
    listing = (
        "import pyarrow.fs as fs\n"
        "s3, _ = fs.FileSystem.from_uri('s3://scores/')\n"
        "print(sorted(f.path for f in s3.get_file_info(fs.FileSelector('scores', recursive=True))))"
    )
    with s3_server("scores") as endpoint:
        for name, value in {**STORAGE_KEYS, "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch.setenv(name, value)  # every command below reads them
        feature = next(iter(example))
        installed.run(python, "-c", upload, feature, "s3://scores/in.parquet")
        first = installed.run(
            *score,
            "s3://scores/in.parquet",
            "s3://scores/out/part-0.parquet",
            "--shard=0/2",
        )
        failed = subprocess.run(
            [*score, "s3://scores/in.parquet", "s3://scores/out/all.parquet"],
            cwd=installed.path,
            env=tool_env(),
            capture_output=True,
            text=True,
        )
        stored = installed.run(python, "-c", listing)
        read = installed.run(
            python,
            "-c",
            "import pyarrow.parquet as pq, pyarrow.fs as fs; "
            "s3, path = fs.FileSystem.from_uri('s3://scores/out/part-0.parquet'); "
            "print(pq.read_table(path, filesystem=s3).column('label').to_pylist())",
        )

    assert "score: wrote s3://scores/out/part-0.parquet (4 rows, row groups 0-0 of 3" in first
    assert read.strip() == repr(["setosa"] * 4)
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"error: column {feature!r}: ")
    assert "rows in row group 2)" in failed.stderr
    # The failed run's output is nowhere, not even under a temporary name.
    assert stored.strip() == repr(["scores/in.parquet", "scores/out", "scores/out/part-0.parquet"])


@contextmanager
def serving(project: BakedProject, **env: str) -> Iterator[str]:
    """The project's API on a free port, configured by `env`; yields its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(project.path / ".venv/bin" / project.path.name), "serve", "--port", str(port)]
    with running(command, "the API", f"{base}/health", 120, cwd=project.path, env=tool_env(**env)):
        yield base


def test_a_shared_registry_on_postgresql_and_s3_trains_gates_and_serves(
    installed: BakedProject, tmp_path: Path
) -> None:
    """compose.yaml's shared registry on real servers on loopback: PostgreSQL, moto's S3
    server, and `mlflow server` with the packages of deploy/mlflow/Dockerfile, set up by
    compose's own variables. The project is told nothing but MLFLOW_TRACKING_URI."""
    if installed.option("experiment_tracking") != "mlflow" or installed.answers:
        pytest.skip("the registry is the same with every option: the default project runs it")
    compose = yaml.safe_load(installed.read("compose.yaml"))["services"]["mlflow"]
    cli = str(installed.path / ".venv/bin" / installed.path.name)
    local_artifacts = set((installed.path / "mlartifacts").rglob("*"))
    with ExitStack() as servers:
        backend = servers.enter_context(postgres_server())
        storage = servers.enter_context(s3_server("mlflow"))
        # compose's settings, with this machine's addresses and moto's keys.
        here = {"MLFLOW_BACKEND_STORE_URI": backend, "AWS_ENDPOINT_URL": storage}
        here |= STORAGE_KEYS
        assert here.keys() <= compose["environment"].keys()
        env = {**compose["environment"], **here}
        dockerfile = installed.read(f"{compose['build']}/Dockerfile")
        uri = servers.enter_context(mlflow_server(dockerfile, env))
        installed.run(cli, "pipeline", "--force", MLFLOW_TRACKING_URI=uri)
        first = json.loads(installed.read("reports/promotion.json"))
        installed.run(cli, "pipeline", "--force", MLFLOW_TRACKING_URI=uri)
        second = json.loads(installed.read("reports/promotion.json"))
        name = first["challenger"].rpartition("/")[0]
        query = f"registered-models/alias?name={name}&alias=champion"
        champion = http("GET", f"{uri}/api/2.0/mlflow/{query}")["model_version"]["version"]
        model_uri = {f"{installed.module.upper()}_MODEL_URI": f"models:/{name}@champion"}
        with serving(installed, MLFLOW_TRACKING_URI=uri, **model_uri) as base:
            answer = http("POST", f"{base}/predict", installed.example())
        stored = bucket_keys(storage, "mlflow")

    # A new registry has no champion: the local store's does not leak into it.
    assert (first["champion"], first["promoted"]) == (None, True)
    # The second model is gated against the first, and the alias follows the decision.
    assert (second["champion"], second["challenger"]) == (first["challenger"], f"{name}/2")
    assert champion == ("2" if second["promoted"] else "1")
    assert answer["model_version"] == f"{name}/{champion}"
    # The models and their ONNX exports are in the bucket, and none on the trainer's disk.
    assert sum(key.endswith("/model.skops") for key in stored) == 2
    assert sum(key.endswith(".onnx") for key in stored) == 2
    assert set((installed.path / "mlartifacts").rglob("*")) == local_artifacts


def test_the_airflow_dag_runs_the_pipeline(installed: BakedProject) -> None:
    if installed.option("orchestrator") != "airflow":
        pytest.skip("this project has no DAG (orchestrator=none)")
    for output in ("models/model.joblib", "reports/metrics.json"):
        (installed.path / output).unlink(missing_ok=True)

    output = installed.run("make", "airflow-test", timeout=900)

    assert "8 passed" in output  # dags/tests: both DAGs' shape, the branch, the pods
    assert installed.has_file("models/model.joblib")
    assert installed.has_file("reports/metrics.json")


def test_make_benchmark_times_start_up_and_drives_both_servers_with_wrk(
    installed: BakedProject,
) -> None:
    if installed.answers:
        pytest.skip("the benchmark is the same for every option: the default project runs it")
    needed("wrk", "apt-get install wrk")
    needed("hyperfine", "apt-get install hyperfine")
    installed.run("make", "pipeline")

    output = installed.run(
        "make",
        "benchmark",
        BENCHMARK_SECONDS="1",
        BENCHMARK_RUNS="1",
        BENCHMARK_ROUNDS="1",
        BENCHMARK_SCORE_ROWS="2000",
        timeout=900,
    )

    assert "start-up, whole processes (median of 1 runs, hyperfine)" in output
    for command in ("--help", "pipeline, nothing changed", "serve, until /health"):
        assert re.search(rf"^{re.escape(command)}.* \d+\.\d\d s", output, re.M), output
    assert "client: wrk" in output and "model runtime: onnx" in output
    assert re.search(r"^single / bare +\d+\.\d\d", output, re.MULTILINE), output
    assert re.search(r"^batch / single rows +\d+\.\d", output, re.MULTILINE), output
    assert "batch scoring (score; 10 row groups of 2000 rows; model runtime: onnx)" in output
    for line in ("one process", "two shards at once"):
        assert re.search(rf"^{line} +\d+\.\d\d s +[\d,]+ rows/s", output, re.M), output
    assert re.search(
        r"^peak memory, one process: \d+ MB for 1 row group, \d+ MB for 10$", output, re.M
    )
