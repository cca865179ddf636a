"""Evaluate: score the saved model on the held-out test set, check its ONNX export
against it, and write the metrics and the model card."""

from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from ..card import write_model_card
from ..dataset import FEATURES, TARGET
from ..errors import ProjectError
from ..files import digest, write_json
from ..model import Parity, TrainedModel, parity_verdict
from ..model import load as load_model
from ..params import EvaluateParams, Params
from ..predictor import OnnxRuntime
from ..settings import Settings
from ..tracking import log_evaluation
from .tables import read_table


class Evaluation(NamedTuple):
    model: TrainedModel
    metrics: dict[str, float]
    passed: bool
    parity: Parity | None  # None without an export


def onnx_parity(
    model: TrainedModel, onnx_file: Path, matrix: np.ndarray, tolerance: float
) -> Parity | None:
    """Compare the export's probabilities with the model's on `matrix`."""
    if model.onnx_error is not None or not onnx_file.is_file():
        return None
    expected = model.estimator.predict_proba(matrix)
    exported = OnnxRuntime(onnx_file).probabilities(matrix)
    difference = float(np.abs(expected - exported).max())
    return {
        "onnx_sha256": digest(onnx_file),
        "max_abs_difference": difference,
        "tolerance": tolerance,
        "passed": difference < tolerance,
    }


def evaluate(settings: Settings, params: EvaluateParams) -> Evaluation:
    """Write accuracy and macro F1 on the test set, the ONNX check, the model card."""
    model = load_model(settings.model_file)
    frame = read_table(settings.test_file, [*FEATURES, TARGET])
    matrix = frame[list(FEATURES)].to_numpy()
    predicted = model.estimator.predict(matrix)
    actual = frame[TARGET]
    metrics = {
        "accuracy": round(float(accuracy_score(actual, predicted)), 6),
        "f1_macro": round(float(f1_score(actual, predicted, average="macro")), 6),
        "test_rows": len(frame),
    }
    parity = onnx_parity(model, settings.onnx_file, matrix, params.onnx_tolerance)
    if parity is None:
        settings.onnx_parity_file.unlink(missing_ok=True)
    else:
        metrics["onnx_max_abs_difference"] = parity["max_abs_difference"]
        write_json(parity, settings.onnx_parity_file)
    passed = metrics["accuracy"] >= params.min_accuracy
    write_json(metrics, settings.metrics_file)
    write_model_card(model, metrics, passed, parity, settings.model_card_file)
    return Evaluation(model, metrics, passed, parity)


def run(settings: Settings, params: Params) -> str:
    """Evaluate; a model under the accuracy floor fails the step (and the pipeline)."""
    model, metrics, passed, parity = evaluate(settings, params.evaluate)
    log_evaluation(model, metrics, passed, settings.model_card_file, settings)
    floor = params.evaluate.min_accuracy
    if not passed:
        # The reports stay for a look; the step is not recorded, so it runs again.
        raise ProjectError(
            f"evaluate: accuracy {metrics['accuracy']:.3f} is below"
            f" evaluate.min_accuracy {floor}: the model fails its gate"
            f" (see {settings.model_card_file})"
        )
    onnx = "no ONNX export" if parity is None else parity_verdict(parity)
    return (
        f"accuracy {metrics['accuracy']:.3f}, f1_macro {metrics['f1_macro']:.3f}"
        f" (passes min_accuracy {floor}); {onnx}"
    )
