"""The trained model as one file: the estimator plus what is needed to use it safely."""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from .errors import ProjectError
from .files import atomic_path, require


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

    def predict(self, rows: Sequence[Mapping[str, float]]) -> list[Prediction]:
        """Predict many rows in one vectorised call."""
        frame = pd.DataFrame(list(rows), columns=list(self.features))
        if frame.isna().to_numpy().any():
            names = ", ".join(self.features)
            raise ProjectError(f"every row needs all features: {names}")
        probabilities = self.estimator.predict_proba(frame)
        return [
            Prediction(
                label=self.classes[int(row.argmax())],
                probabilities={
                    label: round(float(p), 6)
                    for label, p in zip(self.classes, row, strict=True)
                },
            )
            for row in probabilities
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
    """A short content hash: two files with the same version hold the same model."""
    return hashlib.sha256(require(path).read_bytes()).hexdigest()[:12]
