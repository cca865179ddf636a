"""Experiment tracking with MLflow: one run per training, the model registry, aliases.

Runs go to `MLFLOW_TRACKING_URI`: by default a local SQLite file (`mlflow.db`) with
artifacts in `mlartifacts/`, both git-ignored; `make mlflow-ui` browses them. Point the
variable at a tracking server to share runs with a team.
"""

import os
from dataclasses import replace
from datetime import UTC, datetime

# Before mlflow is imported: no usage data leaves the machine unless a user opts in.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import sklearn  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402

from . import DISTRIBUTION  # noqa: E402
from .dataset import FEATURES  # noqa: E402
from .errors import ProjectError  # noqa: E402
from .model import TrainedModel  # noqa: E402
from .settings import Settings  # noqa: E402

CHAMPION = "champion"


def connect(settings: Settings) -> None:
    """Point mlflow at the tracking store and the project's experiment."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if mlflow.get_experiment_by_name(DISTRIBUTION) is None:
        location = settings.mlflow_artifacts_dir.resolve().as_uri()
        mlflow.create_experiment(DISTRIBUTION, artifact_location=location)
    mlflow.set_experiment(DISTRIBUTION)


def log_training(model: TrainedModel, settings: Settings) -> TrainedModel:
    """Log the parameters and the model, register it; return it with its run id."""
    connect(settings)
    example = model.matrix([dict.fromkeys(model.features, 1.0)])
    signature = infer_signature(example, model.estimator.predict_proba(example))
    with mlflow.start_run() as run:
        mlflow.log_params(model.params)
        mlflow.sklearn.log_model(
            model.estimator,
            name="model",
            signature=signature,
            input_example=example,
            # Stated, not inferred: inference inspects the whole environment (slow).
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            registered_model_name=DISTRIBUTION,
        )
    return replace(model, run_id=run.info.run_id)


def log_evaluation(
    model: TrainedModel, metrics: dict[str, float], passed: bool, settings: Settings
) -> None:
    """Log metrics and the model card in the training run; crown it if it passed."""
    connect(settings)
    with mlflow.start_run(run_id=model.run_id):
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(settings.model_card_file))
    if passed:
        client = MlflowClient()
        [version] = client.search_model_versions(f"run_id = '{model.run_id}'")
        client.set_registered_model_alias(DISTRIBUTION, CHAMPION, version.version)


def load_registered(settings: Settings) -> tuple[TrainedModel, str, dict[str, float]]:
    """The model at MODEL_URI (models:/NAME@ALIAS or models:/NAME/VERSION), its
    version as NAME/VERSION, and the metrics logged in its run."""
    uri = str(settings.model_uri)
    connect(settings)
    client = MlflowClient()
    name, at, alias = uri.removeprefix("models:/").partition("@")
    try:
        if at:
            found = client.get_model_version_by_alias(name, alias)
        else:
            name, _, number = name.partition("/")
            found = client.get_model_version(name, number)
        estimator = mlflow.sklearn.load_model(f"models:/{name}/{found.version}")
    except mlflow.MlflowException as error:
        raise ProjectError(f"MODEL_URI {uri}: {error.message}") from None
    run = client.get_run(str(found.run_id))
    model = TrainedModel(
        estimator=estimator,
        features=FEATURES,
        classes=tuple(str(label) for label in estimator.classes_),
        trained_at=datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(),
        params=dict(run.data.params),
        run_id=run.info.run_id,
    )
    return model, f"{name}/{found.version}", dict(run.data.metrics)
