"""Train: fit a new model on the training set; save it and its ONNX export.

The new model is the challenger (models/candidate.*): evaluate decides whether it
replaces the model that serves.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..dataset import FEATURES, TARGET
from ..model import TrainedModel
from ..params import EstimatorParams, LogisticRegressionParams, Params, TrainParams
from ..settings import Settings
from ..tracking import log_training
from .tables import read_table


def estimator(params: EstimatorParams, seed: int) -> Any:
    """Build the estimator that params.yaml names; add your own kind here and there."""
    if isinstance(params, LogisticRegressionParams):
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=params.C, max_iter=params.max_iter, random_state=seed),
        )
    return RandomForestClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        random_state=seed,
    )


def train(train_file: Path, params: TrainParams, seed: int) -> TrainedModel:
    """Fit the estimator of `params` on the training set."""
    frame = read_table(train_file, [*FEATURES, TARGET])
    fitted = estimator(params.estimator, seed)
    # Fitted on a plain matrix: serving then predicts without building a DataFrame.
    fitted.fit(frame[list(FEATURES)].to_numpy(), frame[TARGET].astype(str))
    chosen = params.estimator.model_dump()
    return TrainedModel(
        estimator=fitted,
        features=FEATURES,
        classes=tuple(str(label) for label in fitted.classes_),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        params={"seed": seed, "estimator": chosen.pop("kind"), **chosen},
    )


def run(settings: Settings, params: Params) -> str:
    model = train(settings.train_file, params.train, params.seed)
    # An estimator that skl2onnx cannot convert is served by scikit-learn instead.
    model = model.export_onnx(settings.candidate_onnx_file)
    # Saved with its tracking run id (if any), which evaluate logs its metrics into.
    log_training(model, settings, settings.candidate_onnx_file).save(
        settings.candidate_file
    )
    if model.onnx_error:
        return f"wrote {settings.candidate_file}; no ONNX export: {model.onnx_error}"
    return f"wrote {settings.candidate_file} and {settings.candidate_onnx_file}"
