"""The model that answers predictions, for the command line and the HTTP API alike."""

import json
from collections.abc import Mapping, Sequence

import sklearn

from .model import Prediction, ServedModel, load, version
from .settings import Settings
from .tracking import registered_model


class Predictor:
    """A trained model ready to answer, with the facts /model shows about it."""

    def __init__(self, served: ServedModel) -> None:
        self.model, self.version, self.metrics = served

    @classmethod
    def load(cls, settings: Settings) -> "Predictor":
        """Load the registered model when MODEL_URI is set, else the pipeline's."""
        return cls(registered_model(settings) or pipeline_model(settings))

    def predict(self, rows: Sequence[Mapping[str, float]]) -> list[Prediction]:
        """Predict all rows in one vectorised call."""
        # Callers check their input (the API's schema refuses NaN and infinity), so
        # scikit-learn's own finiteness check is skipped.
        with sklearn.config_context(assume_finite=True):
            return self.model.predict(rows)


def pipeline_model(settings: Settings) -> ServedModel:
    """Load the pipeline's model file, with the metrics evaluate wrote (if it ran)."""
    model_file, metrics_file = settings.model_file, settings.metrics_file
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return ServedModel(load(model_file), version(model_file), metrics)
