"""Evaluate: score the saved model on the held-out test set; write its model card."""

from pathlib import Path
from typing import NamedTuple

from sklearn.metrics import accuracy_score, f1_score

from ..card import write_model_card
from ..dataset import FEATURES, TARGET
from ..files import write_json
from ..model import TrainedModel
from ..model import load as load_model
from ..params import EvaluateParams, Params
from ..settings import Settings
from ..tracking import log_evaluation
from .tables import read_table


class Evaluation(NamedTuple):
    model: TrainedModel
    metrics: dict[str, float]
    passed: bool


def evaluate(
    model_file: Path,
    test_file: Path,
    metrics_file: Path,
    card_file: Path,
    params: EvaluateParams,
) -> Evaluation:
    """Write accuracy and macro F1 on the test set, and the model card."""
    model = load_model(model_file)
    frame = read_table(test_file, [*FEATURES, TARGET])
    predicted = model.estimator.predict(frame[list(FEATURES)].to_numpy())
    actual = frame[TARGET]
    metrics = {
        "accuracy": round(float(accuracy_score(actual, predicted)), 6),
        "f1_macro": round(float(f1_score(actual, predicted, average="macro")), 6),
        "test_rows": len(frame),
    }
    passed = metrics["accuracy"] >= params.min_accuracy
    write_json(metrics, metrics_file)
    write_model_card(model, metrics, passed, card_file)
    return Evaluation(model, metrics, passed)


def run(settings: Settings, params: Params) -> str:
    model, metrics, passed = evaluate(
        settings.model_file,
        settings.test_file,
        settings.metrics_file,
        settings.model_card_file,
        params.evaluate,
    )
    log_evaluation(model, metrics, passed, settings.model_card_file, settings)
    verdict = "passes" if passed else "FAILS"
    return (
        f"accuracy {metrics['accuracy']:.3f}, f1_macro {metrics['f1_macro']:.3f}"
        f" ({verdict} min_accuracy {params.evaluate.min_accuracy})"
    )
