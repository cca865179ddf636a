"""The model plus the store: predict, keep each prediction, and read them back."""

import json
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sklearn

from ..model import TrainedModel, version
from ..model import load as load_model
from ..settings import Settings
{%- if cookiecutter.experiment_tracking == "mlflow" %}
from ..tracking import load_registered
{%- endif %}
from .schemas import Features, ModelInfo, StoredPrediction
from .store import PredictionStore, StoreUnavailable

log = logging.getLogger(__name__)


def served_model(settings: Settings) -> tuple[TrainedModel, str, dict[str, float]]:
    """The model to serve, its version and its evaluation metrics.

{%- if cookiecutter.experiment_tracking == "mlflow" %}
    From the MLflow model registry when MODEL_URI is set, else from the pipeline's file.
{%- else %}
    From the pipeline's files: the model, and the metrics that evaluate wrote.
{%- endif %}
    """
{%- if cookiecutter.experiment_tracking == "mlflow" %}
    if settings.model_uri is not None:
        return load_registered(settings)
{%- endif %}
    metrics_file = settings.metrics_file
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return load_model(settings.model_file), version(settings.model_file), metrics


class Predictor:
    def __init__(
        self, model: TrainedModel, info: ModelInfo, store: PredictionStore
    ) -> None:
        self.model = model
        self.info = info
        self.store = store

    @classmethod
    def load(cls, name: str, settings: Settings, store: PredictionStore) -> "Predictor":
        """Load the model once, with what /model shows about it."""
        model, model_version, metrics = served_model(settings)
        info = ModelInfo(
            name=name,
            version=model_version,
            trained_at=model.trained_at,
            features=list(model.features),
            classes=list(model.classes),
            params=model.params,
            metrics=metrics,
        )
        return cls(model, info, store)

    async def predict(self, rows: Sequence[Features]) -> list[StoredPrediction]:
        """Predict all rows in one vectorised call, then store them in one write.

        A store outage costs no answer: it is logged and counted by the store.
        """
        # vars() gives each row's fields without copying them. The request schema
        # already refuses NaN and infinity, so sklearn's own check is skipped.
        with sklearn.config_context(assume_finite=True):
            results = self.model.predict([vars(row) for row in rows])
        created_at = datetime.now(UTC).isoformat()
        predictions = [
            StoredPrediction(
                prediction_id=secrets.token_hex(16),
                label=result.label,
                probabilities=result.probabilities,
                model_version=self.info.version,
                input=features,
                created_at=created_at,
            )
            for features, result in zip(rows, results, strict=True)
        ]
        try:
            await self.store.save(predictions)
        except StoreUnavailable as error:
            log.debug("prediction not stored yet: %s", error)
        return predictions
