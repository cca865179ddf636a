"""Experiment tracking is off in this project: the pipeline's calls do nothing.

The template generates a tracking module with these same functions for its
`experiment_tracking` answers; this one keeps the pipeline's calls in place, so that
turning tracking on later only replaces this file.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

from .errors import ProjectError

if TYPE_CHECKING:
    from .model import ServedModel, TrainedModel
    from .promotion import Decision

# The packages this module imports when it tracks: none.
IMPORTS: tuple[str, ...] = ()


class TrackingSettings(BaseSettings):
    """Nothing is tracked, so there is nothing to set."""


def log_training(
    model: "TrainedModel", settings: TrackingSettings, onnx_file: Path
) -> "TrainedModel":
    """Return the model as it is: it has no run id."""
    return model


def registered_version(model: "TrainedModel", settings: TrackingSettings) -> str | None:
    """Return None: a model's version is its file's hash."""
    return None


def log_evaluation(
    model: "TrainedModel",
    metrics: dict[str, float],
    decision: "Decision",
    files: list[Path],
    settings: TrackingSettings,
) -> None:
    """Nothing to log: the metrics, the card and the decision stay in reports/."""


def champion(
    settings: TrackingSettings, model_file: Path
) -> "tuple[str, TrainedModel] | None":
    """Return the model that serves, `model_file`, with its version (None if there is
    none yet): without a registry, the pipeline's file is the champion."""
    from .model import load, version

    if not model_file.is_file():
        return None
    return version(model_file), load(model_file)


def was_rolled_back(version: str, settings: TrackingSettings) -> bool:
    """Return False: without a registry, nothing is rolled back."""
    return False


def promote(
    version: str, settings: TrackingSettings
) -> "tuple[str, TrainedModel] | None":
    """Return None: without a registry, only the pipeline's challenger can be promoted
    (pipeline/evaluate.py)."""
    return None


def rollback(settings: TrackingSettings) -> "tuple[str, TrainedModel]":
    """Refuse in one line: no registry keeps the earlier champions."""
    raise ProjectError(
        "rollback: experiment_tracking is none, so no registry keeps earlier champions:"
        " check out the commit that trained the one you want and run the pipeline"
    )


def registered_model(settings: TrackingSettings) -> "ServedModel | None":
    """Return None: with no model registry, the model is served from its file."""
    return None


def refresh_interval(settings: TrackingSettings) -> float | None:
    """Return None: a server of the model file has no registry alias to follow."""
    return None


def alias_version(settings: TrackingSettings) -> str:
    """Never called: refresh_interval() is None."""
    raise ProjectError("no model registry: there is no alias to follow")
