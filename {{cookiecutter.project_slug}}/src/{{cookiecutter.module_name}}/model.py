"""The trained model as one file: the estimator plus what is needed to use it safely."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import joblib
import numpy as np

from .errors import ProjectError
from .files import atomic_path, digest, require


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class TrainedModel:
    estimator: Any  # a fitted scikit-learn estimator with predict_proba
    features: tuple[str, ...]
    classes: tuple[str, ...]
    trained_at: str
    params: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None  # the experiment tracking run that trained it, if any

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Return the rows as a float matrix, in the order of the model's features."""
        try:
            return np.array(
                [[row[name] for name in self.features] for row in rows], dtype=float
            )
        except KeyError as missing:
            raise ProjectError(f"every row needs the feature {missing}") from None

    def predict(self, rows: Sequence[Mapping[str, float]]) -> list[Prediction]:
        """Predict many rows in one vectorised call."""
        probabilities = self.estimator.predict_proba(self.matrix(rows)).round(6)
        labels = [self.classes[i] for i in probabilities.argmax(axis=1).tolist()]
        return [
            Prediction(label, dict(zip(self.classes, row, strict=True)))
            for label, row in zip(labels, probabilities.tolist(), strict=True)
        ]

    def save(self, path: Path) -> None:
        with atomic_path(path) as temporary:
            joblib.dump(self, temporary)


def load(path: Path) -> TrainedModel:
    """Load a model written by `TrainedModel.save`.

    joblib files are pickles: only load models that your own pipeline wrote.
    """
    model = joblib.load(require(path))
    if not isinstance(model, TrainedModel):
        raise ProjectError(f"{path} is not a model written by this project")
    return model


def version(path: Path) -> str:
    """Return a short hash: two files with the same version hold the same model."""
    return digest(require(path))[:12]


class ServedModel(NamedTuple):
    """A model to serve, with the version and the evaluation metrics /model shows."""

    model: TrainedModel
    version: str
    metrics: dict[str, float]
