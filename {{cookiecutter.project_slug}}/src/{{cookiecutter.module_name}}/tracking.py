"""Experiment tracking with MLflow: one run per training, the model registry, aliases.

Runs go to MLFLOW_TRACKING_URI: by default a local SQLite file (`mlflow.db`) with
artifacts in `mlartifacts/`, both git-ignored; `make mlflow-ui` browses them. Point the
variable at a tracking server (http://...) to share runs and the registry with a team:
the server keeps the artifacts, in its object storage (compose.yaml runs one).

MLflow takes seconds to import, so only the functions that use it import it: the
command line's help, an up-to-date pipeline and serving from the model file never do.
"""

import getpass
import json
import os
import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from . import DISTRIBUTION, ENV_PREFIX, dataset
from .errors import ProjectError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from .model import ServedModel, TrainedModel
    from .promotion import Decision

# Before MLflow is imported: no usage data leaves the machine unless a user opts in,
# and MLflow's own loaders refuse pickles and the types a model's artifact declares
# (this module loads models itself: load_version).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")

# The packages this module imports when it tracks: start-up never loads them.
IMPORTS = ("mlflow",)
CHAMPION = "champion"
# Evaluate's ONNX check of a promoted model, logged in its run (from reports/).
PARITY_ARTIFACT = "onnx_parity.json"
FEATURES_TAG = "features"
# The versions that held the champion alias, oldest first: `rollback` reads it.
HISTORY_TAG = "champion_history"
# On a version that `rollback` took the alias from: the gate does not promote it again.
ROLLED_BACK_TAG = "rolled_back"
# Types that a registered model may hold beyond those skops trusts itself: those of the
# estimators train.py builds (a forest's trees). A model is loaded with this list, never
# with the one its own artifact declares, so whoever writes to the registry cannot make
# the server run other code. Add the types of an estimator of your own here.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
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
    # of the pipeline's file. It is loaded with skops, trusting only TRUSTED_TYPES.
    model_uri: str | None = None
    # How often a server of an alias checks which version it names, in seconds, and
    # swaps in a new one without a restart (serving/refresh.py); 0: never.
    model_refresh_seconds: float = Field(default=30.0, ge=0)


def connect(settings: TrackingSettings) -> None:
    """Point MLflow at the tracking store and the project's experiment."""
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if mlflow.get_experiment_by_name(DISTRIBUTION) is None:
        # A tracking server stores artifacts where it was told to (its object
        # storage): a local folder would put them on the trainer's disk.
        location = None
        if not settings.mlflow_tracking_uri.startswith(("http://", "https://")):
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

    untrusted = set(get_untrusted_types(data=dumps(model.estimator))) - {*TRUSTED_TYPES}
    if untrusted:
        raise ProjectError(
            f"train: the model holds types that tracking.TRUSTED_TYPES does not list:"
            f" {', '.join(sorted(untrusted))} (add them if you trust them)"
        )
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
            # A signature, no input example: MLflow would check an example by loading
            # the model through its own loader, which is off (see above).
            signature=signature,
            # Stated, not inferred: inference inspects the whole environment (slow).
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            registered_model_name=REGISTERED_MODEL,
            skops_trusted_types=TRUSTED_TYPES,
        )
        if model.onnx_error is None:
            mlflow.log_artifact(str(onnx_file), artifact_path="onnx")
    return replace(model, run_id=run.info.run_id)


def registered_version(model: "TrainedModel", settings: TrackingSettings) -> str | None:
    """Return NAME/N, the registered version of a model this project trained."""
    if model.run_id is None:
        return None
    import mlflow

    connect(settings)
    found = mlflow.MlflowClient().search_model_versions(f"run_id = '{model.run_id}'")
    return f"{found[0].name}/{found[0].version}" if found else None


def log_evaluation(
    model: "TrainedModel",
    metrics: dict[str, float],
    decision: "Decision",
    files: list[Path],
    settings: TrackingSettings,
) -> None:
    """Log the challenger's metrics, the decision and `files` in its training run;
    move the champion alias to it when it was promoted."""
    import mlflow

    connect(settings)
    with mlflow.start_run(run_id=model.run_id):
        mlflow.log_metrics(metrics)
        mlflow.set_tags(
            {
                "promotion.promoted": str(decision["promoted"]).lower(),
                "promotion.reason": decision["reason"],
                "promotion.champion": str(decision["champion"]),
                "promotion.champion_accuracy": str(decision["champion_accuracy"]),
            }
        )
        for path in files:
            mlflow.log_artifact(str(path))
    if decision["promoted"] and decision["champion"] != decision["challenger"]:
        number = decision["challenger"].rpartition("/")[2]
        move_champion(mlflow.MlflowClient(), number, "evaluate (the gate)")


def champion(
    settings: TrackingSettings, model_file: Path
) -> "tuple[str, TrainedModel] | None":
    """Return the registry's champion as NAME/N and its model; None if it has none.

    The registry, not `model_file`, decides: the registered model is this data set's
    (a model of another data set in `model_file` is not a champion to beat), and it
    may be shared with a team.
    """
    import mlflow

    connect(settings)
    client = mlflow.MlflowClient()
    try:
        found = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    except mlflow.MlflowException:
        return None
    model = load_version(client, REGISTERED_MODEL, found.version)
    return f"{REGISTERED_MODEL}/{found.version}", model


def was_rolled_back(version: str, settings: TrackingSettings) -> bool:
    """Whether `rollback` took the alias from this version (NAME/N)."""
    import mlflow

    connect(settings)
    name, _, number = version.rpartition("/")
    found = mlflow.MlflowClient().get_model_version(name, number)
    return ROLLED_BACK_TAG in found.tags


def load_version(client: "MlflowClient", name: str, number: str) -> "TrainedModel":
    """Load version `number` of registered model `name` with skops, trusting only
    TRUSTED_TYPES; raise ProjectError when it is not a skops model or holds others."""
    from mlflow.artifacts import download_artifacts
    from mlflow.models import Model
    from skops.io import get_untrusted_types, load

    from .model import TrainedModel

    found = client.get_model_version(name, number)
    folder = Path(download_artifacts(f"models:/{name}/{number}"))
    flavor = Model.load(folder).flavors.get("sklearn", {})
    version = f"{name}/{number}"
    if flavor.get("serialization_format") != "skops":
        raise ProjectError(f"{version} is not saved with skops: it is not loaded")
    path = folder / flavor["pickled_model"]
    untrusted = set(get_untrusted_types(file=path)) - {*TRUSTED_TYPES}
    if untrusted:
        raise ProjectError(
            f"{version} holds types that tracking.TRUSTED_TYPES does not list:"
            f" {', '.join(sorted(untrusted))}: it is not loaded"
        )
    estimator = load(path, trusted=TRUSTED_TYPES)
    run = client.get_run(str(found.run_id))
    return TrainedModel(
        estimator=estimator,
        features=tuple(run.data.tags[FEATURES_TAG].split(",")),
        classes=tuple(str(label) for label in estimator.classes_),
        trained_at=datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(),
        params=dict(run.data.params),
        run_id=run.info.run_id,
    )


def move_champion(client: "MlflowClient", number: str, how: str) -> str:
    """Give the alias to version `number`; record who moved it, how and from where on
    that version. Return the line `promote` and `rollback` print."""
    import mlflow

    try:
        before = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version
    except mlflow.MlflowException:  # no champion yet
        before = None
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, number)
    record = {
        "champion.moved_by": mover(),
        "champion.moved_with": how,
        "champion.moved_from": str(before),
        "champion.moved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key, value in record.items():
        client.set_model_version_tag(REGISTERED_MODEL, number, key, value)
    tags = client.get_model_version(REGISTERED_MODEL, number).tags
    if how == "promote" and ROLLED_BACK_TAG in tags:  # on purpose: the gate may again
        client.delete_model_version_tag(REGISTERED_MODEL, number, ROLLED_BACK_TAG)
    history = registry_history(client)
    if how != "rollback" and history[-1:] != [number]:
        history.append(number)
    client.set_registered_model_tag(REGISTERED_MODEL, HISTORY_TAG, ",".join(history))
    return f"champion: {REGISTERED_MODEL}/{before} -> {REGISTERED_MODEL}/{number}"


def mover() -> str:
    """Who moves the alias, as user@host. A container's user may have no name (a uid
    with no passwd entry, as Kubernetes may run it): then its uid."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def registry_history(client: "MlflowClient") -> list[str]:
    tags = client.get_registered_model(REGISTERED_MODEL).tags
    return [number for number in tags.get(HISTORY_TAG, "").split(",") if number]


def promote(
    number: str, settings: TrackingSettings
) -> "tuple[str, TrainedModel] | None":
    """Make version `number` the champion; return the line to print and its model."""
    import mlflow

    connect(settings)
    client = mlflow.MlflowClient()
    try:
        model = load_version(client, REGISTERED_MODEL, number)
    except mlflow.MlflowException:
        raise ProjectError(
            f"promote {number}: {REGISTERED_MODEL} has no version {number}"
        ) from None
    return move_champion(client, number, "promote"), model


def rollback(settings: TrackingSettings) -> "tuple[str, TrainedModel]":
    """Give the alias back to the champion before this one; return the line to print
    and its model."""
    import mlflow

    connect(settings)
    client = mlflow.MlflowClient()
    history = registry_history(client)
    if len(history) < 2:
        raise ProjectError(f"rollback: {REGISTERED_MODEL} had no earlier champion")
    current, previous = history.pop(), history[-1]
    model = load_version(client, REGISTERED_MODEL, previous)
    client.set_registered_model_tag(REGISTERED_MODEL, HISTORY_TAG, ",".join(history))
    client.set_model_version_tag(REGISTERED_MODEL, current, ROLLED_BACK_TAG, "true")
    return move_champion(client, previous, "rollback"), model


def registered_model(settings: TrackingSettings) -> "ServedModel | None":
    """Load the registered model at MODEL_URI; return None when it is not set.

    Its version reads NAME/VERSION; its metrics are those logged in its run.
    """
    if settings.model_uri is None:
        return None
    import mlflow

    from .model import ServedModel

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
        model = load_version(client, name, found.version)
    except mlflow.MlflowException as error:
        raise ProjectError(f"{ENV_PREFIX}MODEL_URI {uri}: {error.message}") from None
    except ProjectError as error:
        raise ProjectError(f"{ENV_PREFIX}MODEL_URI {uri}: {error}") from None
    metrics = dict(client.get_run(str(found.run_id)).data.metrics)
    onnx, refusal = checked_export(str(found.run_id))
    return ServedModel(model, f"{name}/{found.version}", metrics, onnx, refusal)


def checked_export(run_id: str) -> tuple[Path | None, str]:
    """Return the run's ONNX export if evaluate logged a passed parity check of these
    very bytes; else None and why not."""
    import mlflow
    from mlflow.artifacts import download_artifacts

    from .files import digest
    from .model import parity_verdict

    try:
        folder = Path(download_artifacts(run_id=run_id, artifact_path="onnx"))
        check = download_artifacts(run_id=run_id, artifact_path=PARITY_ARTIFACT)
    except (mlflow.MlflowException, OSError):
        return None, "the registered model has no checked ONNX export"
    parity = json.loads(Path(check).read_text())
    [export] = folder.glob("*.onnx")
    if digest(export) != parity["onnx_sha256"]:
        return None, "the registered ONNX export is not the one evaluate checked"
    if not parity["passed"]:
        return None, parity_verdict(parity)
    return export, ""


def refresh_interval(settings: TrackingSettings) -> float | None:
    """Seconds between two checks of MODEL_URI's alias; None when the server does not
    follow one (no MODEL_URI, a fixed version, or MODEL_REFRESH_SECONDS=0)."""
    uri = settings.model_uri
    if uri is None or "@" not in uri or settings.model_refresh_seconds == 0:
        return None
    return settings.model_refresh_seconds


def alias_version(settings: TrackingSettings) -> str:
    """Return the NAME/N that MODEL_URI's alias names now (one registry query)."""
    import mlflow

    name, _, alias = str(settings.model_uri).removeprefix("models:/").partition("@")
    client = mlflow.MlflowClient(settings.mlflow_tracking_uri)
    return f"{name}/{client.get_model_version_by_alias(name, alias).version}"
