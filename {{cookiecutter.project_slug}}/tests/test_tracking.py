"""MLflow tracking, against a real MLflow store in a temporary folder."""

import json
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import httpx2
import mlflow
import pandas as pd
import pytest
import yaml
from derived import unlearnable_frame
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from servers import api_server
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from skops.io import dumps, get_untrusted_types
from typer.testing import CliRunner

from {{ cookiecutter.module_name }} import ENV_PREFIX, dataset, tracking
from {{ cookiecutter.module_name }}.cli import app
from {{ cookiecutter.module_name }}.dataset import (
    CLASSES,
    EXAMPLE,
    FEATURES,
    TARGET,
)
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.model import load, parity_verdict
from {{ cookiecutter.module_name }}.params import EvaluateParams, Params
from {{ cookiecutter.module_name }}.pipeline import runner
from {{ cookiecutter.module_name }}.pipeline import train as train_step
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.metrics import NAMESPACE
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.tracking import (
    CHAMPION,
    FEATURES_TAG,
    REGISTERED_MODEL,
    TRUSTED_TYPES,
    load_version,
    log_training,
    registered_model,
)

FAILURES = f"{NAMESPACE}_model_load_failures_total"


def run_pipeline(settings: Settings, params: Params) -> str:
    """Run every step; return the MLflow run id of the trained model."""
    for _ in runner.run(settings, params, force=True):
        pass
    run_id = load(settings.model_file).run_id
    assert run_id is not None
    return run_id


def test_a_run_holds_parameters_metrics_model_and_card(
    settings: Settings, params: Params
) -> None:
    run = mlflow.get_run(run_pipeline(settings, params))

    trained = load(settings.model_file).params
    assert run.data.params == {name: str(value) for name, value in trained.items()}
    assert run.data.metrics["accuracy"] >= params.evaluate.min_accuracy
    logged = {item.path for item in MlflowClient().list_artifacts(run.info.run_id)}
    assert {"model_card.md", "onnx"} <= logged


def test_a_forest_is_logged_and_loads_back(settings: Settings, params: Params) -> None:
    run_pipeline(settings, params)
    model = load(settings.model_file)
    frame = pd.read_csv(settings.train_file)
    features = frame[list(model.features)].to_numpy()
    forest = RandomForestClassifier(n_estimators=5, random_state=0)
    forest.fit(features, frame[TARGET])

    logged = log_training(
        replace(model, estimator=forest), settings, settings.onnx_file
    )

    [registered] = MlflowClient().search_model_versions(f"run_id = '{logged.run_id}'")
    loaded = load_version(MlflowClient(), REGISTERED_MODEL, registered.version)
    predicted = loaded.estimator.predict(features)
    assert list(predicted) == list(forest.predict(features))


def test_a_model_that_passes_becomes_the_champion(
    settings: Settings, params: Params
) -> None:
    run_id = run_pipeline(settings, params)

    champion = MlflowClient().get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    assert champion.run_id == run_id
    assert champion.name == REGISTERED_MODEL


def test_a_model_that_fails_does_not(
    settings: Settings, params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient()
    run_pipeline(settings, params)
    before = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version
    strict = params.model_copy(update={"evaluate": EvaluateParams(min_accuracy=1.0)})
    monkeypatch.setattr(dataset, "load", unlearnable_frame)

    with pytest.raises(ProjectError, match="fails its gate"):
        run_pipeline(settings, strict)

    assert (
        client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == before
    )


@pytest.mark.parametrize("tolerance", ["shipped", "zero"])
def test_the_api_serves_the_registry_champion_through_its_checked_export(
    settings: Settings,
    params: Params,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tolerance: str,
) -> None:
    name = own_registered_model(monkeypatch)
    if tolerance == "zero":  # no difference is small enough: the check fails
        exact = params.evaluate.model_copy(update={"onnx_tolerance": 0})
        params = params.model_copy(update={"evaluate": exact})
    run_pipeline(settings, params)
    parity = json.loads(settings.onnx_parity_file.read_text())
    champion = MlflowClient().get_model_version_by_alias(name, CHAMPION)
    remote = settings.model_copy(
        update={
            "model_uri": f"models:/{name}@{CHAMPION}",
            "models_dir": tmp_path / "no-local-model",
        }
    )

    with TestClient(create_app(remote)) as client:
        info = client.get("/model").json()
        answer = client.post("/predict", json=EXAMPLE)

    assert info["version"] == f"{name}/{champion.version}"
    assert info["features"] == list(FEATURES)
    assert info["runtime"] == ("onnx" if parity["passed"] else "scikit-learn")
    if not parity["passed"]:
        assert info["runtime_reason"] == parity_verdict(parity)
    assert answer.status_code == 200
    assert answer.json()["label"] in CLASSES


def test_a_bad_model_uri_stops_start_up_in_one_line(settings: Settings) -> None:
    remote = settings.model_copy(
        update={"model_uri": f"models:/{REGISTERED_MODEL}@nobody"}
    )

    app = create_app(remote)
    unknown = f"^{ENV_PREFIX}MODEL_URI models:/.*@nobody: "

    with pytest.raises(ProjectError, match=unknown), TestClient(app):
        pass


def test_a_model_declaring_a_type_the_project_does_not_trust_is_refused(
    settings: Settings, params: Params, tmp_path: Path
) -> None:
    run_pipeline(settings, params)
    frame = pd.read_csv(settings.train_file)
    neighbours = KNeighborsClassifier().fit(frame[list(FEATURES)], frame[TARGET])
    # Its artifact declares its own types trusted: MLflow's loader would trust them.
    declared = get_untrusted_types(data=dumps(neighbours))
    with mlflow.start_run() as run:
        mlflow.set_tag(FEATURES_TAG, ",".join(FEATURES))
        mlflow.sklearn.log_model(
            neighbours,
            name="model",
            registered_model_name=REGISTERED_MODEL,
            skops_trusted_types=declared,
            pip_requirements=["scikit-learn"],  # stated, not inferred: faster
        )
    [version] = MlflowClient().search_model_versions(f"run_id = '{run.info.run_id}'")
    remote = settings.model_copy(
        update={"model_uri": f"models:/{REGISTERED_MODEL}/{version.version}"}
    )

    with pytest.raises(ProjectError) as refused:
        registered_model(remote)

    [line] = str(refused.value).splitlines()
    assert "holds types that tracking.TRUSTED_TYPES does not list" in line
    assert all(name in line for name in set(declared) - set(TRUSTED_TYPES))


def test_a_user_without_a_name_moves_the_alias_as_its_uid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pod may run as a uid that has no passwd entry: getpass then raises (KeyError
    before Python 3.13, OSError since), and the gate must still move the alias."""

    def nameless() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", nameless)

    assert tracking.mover() == f"uid {os.getuid()}@{socket.gethostname()}"


def test_rollback_serves_the_champion_before_and_the_gate_leaves_it(
    isolated_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracking, "REGISTERED_MODEL", f"test-{uuid4().hex[:8]}")
    name = tracking.REGISTERED_MODEL
    client, cli = MlflowClient(), CliRunner()
    assert cli.invoke(app, ["pipeline"]).exit_code == 0
    assert cli.invoke(app, ["pipeline", "--from", "train"]).exit_code == 0
    first, second = sorted(
        (str(v.version), str(v.run_id))
        for v in client.search_model_versions(f"name = '{name}'")
    )  # two versions: below 10, their numbers sort as strings
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == second[0]

    rolled = cli.invoke(app, ["rollback"])

    assert rolled.exit_code == 0, rolled.output
    assert rolled.stdout.strip() == (
        f"champion: {name}/{second[0]} -> {name}/{first[0]}"
    )
    champion = client.get_model_version_by_alias(name, CHAMPION)
    assert str(champion.version) == first[0]
    assert champion.tags["champion.moved_with"] == "rollback"
    assert champion.tags["champion.moved_from"] == second[0]
    assert "@" in champion.tags["champion.moved_by"]
    assert load(isolated_env.model_file).run_id == first[1]
    # The same challenger, evaluated again, does not take the alias back.
    again = cli.invoke(app, ["pipeline", "--from", "evaluate"])
    assert again.exit_code == 0, again.output
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == first[0]
    assert (
        "was rolled back"
        in json.loads(isolated_env.promotion_file.read_text())["reason"]
    )
    # With no earlier champion left, rollback says so in one line.
    refused = cli.invoke(app, ["rollback"])
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"error: rollback: {name} had no earlier champion"


def own_registered_model(monkeypatch: pytest.MonkeyPatch) -> str:
    """A registered model of the test's own, which no other test moves."""
    name = f"test-{uuid4().hex[:8]}"
    monkeypatch.setattr(tracking, "REGISTERED_MODEL", name)
    return name


def served_version(base: str) -> str:
    version: str = httpx2.get(f"{base}/model").json()["version"]
    return version


@pytest.mark.slow
def test_the_loop_end_to_end_with_a_server_under_load(
    isolated_env: Settings,
    params: Params,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Train v1 and serve the champion; a weaker challenger that passes the floor is
    registered and kept out; an equal one is promoted and the server switches to it
    under load; `rollback` brings v1 back, and the server follows. No request fails."""
    name = own_registered_model(monkeypatch)
    lenient = tmp_path / "params.yaml"  # no floor: the gate alone decides
    values = yaml.safe_load(isolated_env.params_file.read_text())
    values["evaluate"]["min_accuracy"] = 0.0
    lenient.write_text(yaml.safe_dump(values))
    monkeypatch.setenv(f"{ENV_PREFIX}PARAMS_FILE", str(lenient))
    cli = CliRunner()
    assert cli.invoke(app, ["pipeline"]).exit_code == 0
    log = (tmp_path / "server.log").open("wb")
    server, base = api_server(
        isolated_env,
        log,
        MLFLOW_TRACKING_URI=f"sqlite:///{Path('mlflow.db').resolve()}",
        **{
            f"{ENV_PREFIX}MODEL_URI": f"models:/{name}@{CHAMPION}",
            f"{ENV_PREFIX}MODEL_REFRESH_SECONDS": "0.2",
        },
    )
    stop = threading.Event()
    answers: list[list[tuple[int, str]]] = [[] for _ in range(4)]

    def load(seen: list[tuple[int, str]]) -> None:
        with httpx2.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                answer = client.post("/predict", json=EXAMPLE)
                seen.append((answer.status_code, answer.json().get("model_version")))

    def served_soon(version: str) -> None:
        for _ in range(300):  # the refresh period and a load: 30 s at most
            if served_version(base) == version:
                return
            time.sleep(0.1)
        raise AssertionError(f"the server still serves {served_version(base)}")

    with log, server:
        assert served_version(base) == f"{name}/1"
        with monkeypatch.context() as weaker:
            baseline = DummyClassifier(strategy="most_frequent")
            weaker.setattr(train_step, "estimator", lambda *_: baseline)
            assert cli.invoke(app, ["pipeline", "--from", "train"]).exit_code == 0
        kept = json.loads(isolated_env.promotion_file.read_text())
        assert kept["promoted"] is False and kept["challenger"] == f"{name}/2"
        time.sleep(1)  # five refresh periods
        assert served_version(base) == f"{name}/1"
        senders = [threading.Thread(target=load, args=(seen,)) for seen in answers]
        for sender in senders:
            sender.start()
        assert cli.invoke(app, ["pipeline", "--from", "train"]).exit_code == 0
        served_soon(f"{name}/3")  # the equal challenger, promoted by the gate
        time.sleep(0.5)
        assert cli.invoke(app, ["rollback"]).exit_code == 0
        served_soon(f"{name}/1")
        time.sleep(0.5)
        stop.set()
        for sender in senders:
            sender.join()

    for seen in answers:
        assert {status for status, _ in seen} == {200}
        # Each sender saw v1, then v3, then v1 again: one model per answer, in order.
        versions = [version for _, version in seen]
        phases = [v for i, v in enumerate(versions) if i == 0 or v != versions[i - 1]]
        assert phases == [f"{name}/1", f"{name}/3", f"{name}/1"]


def test_a_version_that_fails_to_load_leaves_the_one_serving(
    isolated_env: Settings, params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = own_registered_model(monkeypatch)
    assert CliRunner().invoke(app, ["pipeline"]).exit_code == 0
    frame = pd.read_csv(isolated_env.train_file)
    neighbours = KNeighborsClassifier().fit(frame[list(FEATURES)], frame[TARGET])
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            neighbours,
            name="model",
            registered_model_name=name,
            skops_trusted_types=get_untrusted_types(data=dumps(neighbours)),
            pip_requirements=["scikit-learn"],  # stated, not inferred: faster
        )
    remote = isolated_env.model_copy(
        update={
            "model_uri": f"models:/{name}@{CHAMPION}",
            "model_refresh_seconds": 0.05,
        }
    )

    with TestClient(create_app(remote)) as client:
        MlflowClient().set_registered_model_alias(name, CHAMPION, "2")
        for _ in range(200):
            metrics = client.get("/metrics").text
            if f"{FAILURES} 1.0" in metrics:
                break
            time.sleep(0.05)
        still = client.get("/model").json()["version"]
        answer = client.post("/predict", json=EXAMPLE)

    assert f"{FAILURES} 1.0" in metrics
    assert still == f"{name}/1"
    assert answer.status_code == 200 and answer.json()["model_version"] == f"{name}/1"
