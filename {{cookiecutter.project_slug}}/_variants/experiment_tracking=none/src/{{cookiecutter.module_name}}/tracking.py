"""Experiment tracking is off in this project: the pipeline's calls do nothing.

The template generates a tracking module with these same functions for its
`experiment_tracking` answers; this one keeps the pipeline's calls in place, so that
turning tracking on later only replaces this file.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from .model import ServedModel, TrainedModel

# The packages this module imports when it tracks: none.
IMPORTS: tuple[str, ...] = ()


class TrackingSettings(BaseSettings):
    """Nothing is tracked, so there is nothing to set."""


def log_training(
    model: "TrainedModel", settings: TrackingSettings, onnx_file: Path
) -> "TrainedModel":
    """Return the model as it is: it has no run id."""
    return model


def log_evaluation(
    model: "TrainedModel",
    metrics: dict[str, float],
    passed: bool,
    card_file: Path,
    settings: TrackingSettings,
) -> None:
    """Nothing to log: metrics and the model card stay in reports/."""


def registered_model(settings: TrackingSettings) -> "ServedModel | None":
    """Return None: with no model registry, the model is served from its file."""
    return None
