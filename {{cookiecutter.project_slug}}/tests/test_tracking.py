"""MLflow tracking, against a real MLflow store in a temporary folder."""

from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from derived import unlearnable_frame
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from sklearn.ensemble import RandomForestClassifier

from {{ cookiecutter.module_name }} import ENV_PREFIX, dataset
from {{ cookiecutter.module_name }}.dataset import (
    CLASSES,
    EXAMPLE,
    FEATURES,
    TARGET,
)
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.model import load
from {{ cookiecutter.module_name }}.params import EvaluateParams, Params
from {{ cookiecutter.module_name }}.pipeline import runner
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.tracking import (
    CHAMPION,
    REGISTERED_MODEL,
    log_training,
)


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

    loaded = mlflow.sklearn.load_model(f"runs:/{logged.run_id}/model")
    assert list(loaded.predict(features)) == list(forest.predict(features))


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


def test_the_api_can_serve_the_champion_from_the_registry(
    settings: Settings, params: Params, tmp_path: Path
) -> None:
    run_pipeline(settings, params)
    champion = MlflowClient().get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    remote = settings.model_copy(
        update={
            "model_uri": f"models:/{REGISTERED_MODEL}@{CHAMPION}",
            "models_dir": tmp_path / "no-local-model",
        }
    )

    with TestClient(create_app(remote)) as client:
        info = client.get("/model").json()
        answer = client.post("/predict", json=EXAMPLE)

    assert info["version"] == f"{REGISTERED_MODEL}/{champion.version}"
    assert info["features"] == list(FEATURES)
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
