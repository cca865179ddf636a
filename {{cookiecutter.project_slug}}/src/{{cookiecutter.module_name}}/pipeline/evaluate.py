"""Evaluate: score the saved model on the held-out test set; write its model card."""

from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score

from ..card import write_model_card
from ..dataset import FEATURES, TARGET
from ..files import read_table, write_json
from ..model import load as load_model
from ..params import Params
from ..settings import Settings


def evaluate(
    model_file: Path, test_file: Path, metrics_file: Path, card_file: Path
) -> dict[str, float]:
    """Write accuracy and macro F1 on the test set, and the model card; return them."""
    model = load_model(model_file)
    frame = read_table(test_file, [*FEATURES, TARGET])
    predicted = model.estimator.predict(frame[list(FEATURES)].to_numpy())
    actual = frame[TARGET]
    metrics = {
        "accuracy": round(float(accuracy_score(actual, predicted)), 6),
        "f1_macro": round(float(f1_score(actual, predicted, average="macro")), 6),
        "test_rows": len(frame),
    }
    write_json(metrics, metrics_file)
    write_model_card(model, metrics, len(frame), card_file)
    return metrics


PARAMS: tuple[str, ...] = ()


def inputs(settings: Settings) -> list[Path]:
    return [settings.model_file, settings.test_file]


def outputs(settings: Settings) -> list[Path]:
    return [settings.metrics_file, settings.model_card_file]


def run(settings: Settings, params: Params) -> str:
    metrics = evaluate(
        settings.model_file,
        settings.test_file,
        settings.metrics_file,
        settings.model_card_file,
    )
    return f"accuracy {metrics['accuracy']:.3f}, f1_macro {metrics['f1_macro']:.3f}"
