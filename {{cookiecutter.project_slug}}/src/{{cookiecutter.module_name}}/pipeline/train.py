"""Train: fit the model on the training set; save it and its ONNX export."""

from datetime import UTC, datetime
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..dataset import FEATURES, TARGET
from ..model import TrainedModel
from ..params import Params, TrainParams
from ..settings import Settings
from ..tracking import log_training
from .tables import read_table


def train(train_file: Path, params: TrainParams, seed: int) -> TrainedModel:
    """Fit a scaled logistic regression; swap in your own estimator here."""
    frame = read_table(train_file, [*FEATURES, TARGET])
    estimator = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=params.C, max_iter=params.max_iter, random_state=seed),
    )
    # Fitted on a plain matrix: serving then predicts without building a DataFrame.
    estimator.fit(frame[list(FEATURES)].to_numpy(), frame[TARGET])
    return TrainedModel(
        estimator=estimator,
        features=FEATURES,
        classes=tuple(str(label) for label in estimator.classes_),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        params={"seed": seed, **params.model_dump()},
    )


def run(settings: Settings, params: Params) -> str:
    model = train(settings.train_file, params.train, params.seed)
    # An estimator that skl2onnx cannot convert is served by scikit-learn instead.
    model = model.export_onnx(settings.onnx_file)
    # Saved with its tracking run id (if any), which evaluate logs its metrics into.
    log_training(model, settings, settings.onnx_file).save(settings.model_file)
    if model.onnx_error:
        return f"wrote {settings.model_file}; no ONNX export: {model.onnx_error}"
    return f"wrote {settings.model_file} and {settings.onnx_file}"
