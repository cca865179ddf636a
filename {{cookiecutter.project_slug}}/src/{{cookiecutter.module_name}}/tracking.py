"""Experiment tracking with MLflow: one run per training, the model registry, aliases.

Runs go to MLFLOW_TRACKING_URI: by default a local SQLite file (`mlflow.db`) with
artifacts in `mlartifacts/`, both git-ignored; `make mlflow-ui` browses them. Point the
variable at a tracking server to share runs with a team.

MLflow takes seconds to import, so only the functions that use it import it: the
command line's help, an up-to-date pipeline and serving from the model file never do.
"""

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from . import DISTRIBUTION, ENV_PREFIX, dataset
from .errors import ProjectError

if TYPE_CHECKING:
    from .model import ServedModel, TrainedModel

# Before MLflow is imported: no usage data leaves the machine unless a user opts in.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The packages this module imports when it tracks: start-up never loads them.
IMPORTS = ("mlflow",)
CHAMPION = "champion"
FEATURES_TAG = "features"
# One registered model per data set: another data set does not become a version of
# this one (nor its champion).
REGISTERED_MODEL = f"{DISTRIBUTION}-{dataset.NAME}"


class TrackingSettings(BaseSettings):
    """Where runs and models are tracked, and which registered model to serve."""

    # MLflow's own variable, or the same name with the project's prefix.
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        validation_alias=AliasChoices(
            "MLFLOW_TRACKING_URI", f"{ENV_PREFIX}MLFLOW_TRACKING_URI"
        ),
    )
    mlflow_artifacts_dir: Path = Path("mlartifacts")
    # Serve this registered model (models:/NAME@ALIAS or models:/NAME/VERSION) instead
    # of the pipeline's file. Registered models are pickles: loading one runs code, so
    # point this only at a tracking server whose writers you trust.
    model_uri: str | None = None


def connect(settings: TrackingSettings) -> None:
    """Point MLflow at the tracking store and the project's experiment."""
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if mlflow.get_experiment_by_name(DISTRIBUTION) is None:
        location = settings.mlflow_artifacts_dir.resolve().as_uri()
        mlflow.create_experiment(DISTRIBUTION, artifact_location=location)
    mlflow.set_experiment(DISTRIBUTION)


def log_training(
    model: "TrainedModel", settings: TrackingSettings, onnx_file: Path
) -> "TrainedModel":
    """Log the parameters and the model (with its ONNX export), register it; return it
    with its run id."""
    import mlflow
    import numpy as np
    import sklearn
    from mlflow.models import infer_signature
    from skops.io import dumps, get_untrusted_types

    connect(settings)
    example = np.ones((1, len(model.features)))
    signature = infer_signature(example, model.estimator.predict_proba(example))
    with mlflow.start_run() as run:
        mlflow.log_params(model.params)
        # The served model's input, in order: the registry keeps only the estimator.
        mlflow.set_tag(FEATURES_TAG, ",".join(model.features))
        mlflow.sklearn.log_model(
            model.estimator,
            name="model",
            signature=signature,
            input_example=example,
            # Stated, not inferred: inference inspects the whole environment (slow).
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            registered_model_name=REGISTERED_MODEL,
            # MLflow saves with skops, which refuses types it cannot vouch for (the
            # trees of a forest, for one). This model was trained here, just now: its
            # own types are trusted, and only those.
            skops_trusted_types=get_untrusted_types(data=dumps(model.estimator)),
        )
        if model.onnx_error is None:
            mlflow.log_artifact(str(onnx_file), artifact_path="onnx")
    return replace(model, run_id=run.info.run_id)


def log_evaluation(
    model: "TrainedModel",
    metrics: dict[str, float],
    passed: bool,
    card_file: Path,
    settings: TrackingSettings,
) -> None:
    """Log metrics and the model card in the training run; crown it if it passed."""
    import mlflow

    connect(settings)
    with mlflow.start_run(run_id=model.run_id):
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(card_file))
    if passed:
        client = mlflow.MlflowClient()
        [version] = client.search_model_versions(f"run_id = '{model.run_id}'")
        client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, version.version)


def registered_model(settings: TrackingSettings) -> "ServedModel | None":
    """Load the registered model at MODEL_URI; return None when it is not set.

    Its version reads NAME/VERSION; its metrics are those logged in its run.
    """
    if settings.model_uri is None:
        return None
    import mlflow

    from .model import ServedModel, TrainedModel

    uri = settings.model_uri
    connect(settings)
    client = mlflow.MlflowClient()
    name, at, alias = uri.removeprefix("models:/").partition("@")
    try:
        if at:
            found = client.get_model_version_by_alias(name, alias)
        else:
            name, _, number = name.partition("/")
            found = client.get_model_version(name, number)
        estimator = mlflow.sklearn.load_model(f"models:/{name}/{found.version}")
        run = client.get_run(str(found.run_id))
    except mlflow.MlflowException as error:
        raise ProjectError(f"{ENV_PREFIX}MODEL_URI {uri}: {error.message}") from None
    model = TrainedModel(
        estimator=estimator,
        features=tuple(run.data.tags[FEATURES_TAG].split(",")),
        classes=tuple(str(label) for label in estimator.classes_),
        trained_at=datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(),
        params=dict(run.data.params),
        run_id=run.info.run_id,
    )
    return ServedModel(model, f"{name}/{found.version}", dict(run.data.metrics))
