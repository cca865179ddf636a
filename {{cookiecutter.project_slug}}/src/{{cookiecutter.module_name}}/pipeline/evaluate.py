"""Evaluate: score the challenger (the model train just wrote) and the champion (the
model that serves) on the held-out test set, serve the challenger only if it passes the
gate (promotion.py), and write the served model's metrics, ONNX check and card."""

import math
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from ..card import write_model_card
from ..dataset import TARGET
from ..errors import ProjectError
from ..files import atomic_path, digest, require, write_json
from ..model import Parity, TrainedModel, parity_verdict, version
from ..model import load as load_model
from ..params import Params
from ..predictor import OnnxRuntime
from ..promotion import Contender, Decision, decide, same_declaration
from ..settings import Settings
from ..tracking import (
    champion,
    log_evaluation,
    registered_version,
    was_rolled_back,
)
from ..tracking import promote as promote_in_registry
from ..tracking import rollback as rollback_in_registry
from .tables import read_table


class Evaluation(NamedTuple):
    served: TrainedModel | None  # None while no model has passed
    metrics: dict[str, float]  # the served model's
    parity: Parity | None  # None without an export
    decision: Decision
    challenger_metrics: dict[str, float]


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


def score(model: TrainedModel, test_set: pd.DataFrame) -> dict[str, float]:
    """Accuracy and macro F1 of `model` on the test set."""
    predicted = model.estimator.predict(test_set[list(model.features)].to_numpy())
    actual = test_set[TARGET].astype(str)
    return {
        "accuracy": round(float(accuracy_score(actual, predicted)), 6),
        "f1_macro": round(float(f1_score(actual, predicted, average="macro")), 6),
        "test_rows": len(test_set),
    }


def contender(found: tuple[str, TrainedModel], test_set: pd.DataFrame) -> Contender:
    """The model with its accuracy, NaN when the test set lacks its features (a model
    of another data set)."""
    name, model = found
    if not set(model.features) <= set(test_set.columns):
        return Contender(name, model, math.nan)
    return Contender(name, model, score(model, test_set)["accuracy"])


def install(source: Path, target: Path) -> None:
    """Copy `source` onto `target` atomically, or remove `target` when there is none."""
    if not source.is_file():
        target.unlink(missing_ok=True)
        return
    with atomic_path(target) as temporary:
        shutil.copyfile(source, temporary)


def serve_challenger(settings: Settings) -> None:
    """Make the challenger's files those that `make serve` and the image load."""
    install(settings.candidate_file, settings.model_file)
    install(settings.candidate_onnx_file, settings.onnx_file)


def serve_registered(model: TrainedModel, settings: Settings) -> None:
    """Make a model from the registry the one that `make serve` and the image load."""
    model.export_onnx(settings.onnx_file).save(settings.model_file)


def report(
    served: TrainedModel, decision: Decision, settings: Settings, params: Params
) -> tuple[dict[str, float], Parity | None]:
    """Write the decision, and the served model's metrics, ONNX check and card."""
    write_json(decision, settings.promotion_file)
    test_set = read_table(settings.test_file, [*served.features, TARGET])
    metrics = score(served, test_set)
    matrix = test_set[list(served.features)].to_numpy()
    tolerance = params.evaluate.onnx_tolerance
    parity = onnx_parity(served, settings.onnx_file, matrix, tolerance)
    if parity is None:
        settings.onnx_parity_file.unlink(missing_ok=True)
    else:
        metrics["onnx_max_abs_difference"] = parity["max_abs_difference"]
        write_json(parity, settings.onnx_parity_file)
    write_json(metrics, settings.metrics_file)
    write_model_card(served, metrics, parity, decision, settings.model_card_file)
    return metrics, parity


def evaluate(settings: Settings, params: Params) -> Evaluation:
    """Decide which model serves; write the decision and the served model's reports."""
    challenger = load_model(settings.candidate_file)
    test_set = read_table(settings.test_file, [*challenger.features, TARGET])
    registered = registered_version(challenger, settings)
    name = registered or version(settings.candidate_file)
    current = champion(settings, settings.model_file)
    scores = score(challenger, test_set)
    decision = decide(
        Contender(name, challenger, scores["accuracy"]),
        None if current is None else contender(current, test_set),
        params.evaluate.min_accuracy,
        params.promote.max_regression,
        rolled_back=registered is not None and was_rolled_back(registered, settings),
    )
    if decision["promoted"]:
        serve_challenger(settings)
        served = challenger
    elif current is None or not same_declaration(challenger, current[1]):
        # Nothing serves, or a model that the test set cannot score: its reports stay.
        write_json(decision, settings.promotion_file)
        return Evaluation(None, {}, None, decision, scores)
    else:
        served = current[1]
        local = settings.model_file
        if not local.is_file() or load_model(local).run_id != served.run_id:
            serve_registered(served, settings)  # `promote` moved the registry's alias
    metrics, parity = report(served, decision, settings, params)
    return Evaluation(served, metrics, parity, decision, scores)


def run(settings: Settings, params: Params) -> str:
    """Evaluate; a challenger under the accuracy floor fails the step (and the
    pipeline); one the champion beats leaves the champion serving."""
    served, metrics, parity, decision, scores = evaluate(settings, params)
    files = [settings.promotion_file]
    if decision["promoted"]:  # the card and the ONNX check are the challenger's
        files.append(settings.model_card_file)
        if parity is not None:
            files.append(settings.onnx_parity_file)
    challenger = load_model(settings.candidate_file)
    log_evaluation(challenger, scores, decision, files, settings)
    if decision["challenger_accuracy"] < params.evaluate.min_accuracy:
        # The step is not recorded, so it runs again.
        raise ProjectError(
            f"evaluate: the challenger fails its gate: {decision['reason']}"
            f" (see {settings.promotion_file})"
        )
    if served is None:
        return decision["reason"]
    onnx = "no ONNX export" if parity is None else parity_verdict(parity)
    return f"{decision['reason']}; serving accuracy {metrics['accuracy']:.3f}, {onnx}"


def promote(settings: Settings, params: Params, wanted: str) -> str:
    """Serve version `wanted` whatever the gate says: a registered version, or without
    a registry the pipeline's challenger. Return the line to print."""
    require(settings.test_file)  # to report on it, checked before anything moves
    moved = promote_in_registry(wanted, settings)
    if moved is None:
        challenger = version(settings.candidate_file)
        if wanted != challenger:
            raise ProjectError(
                f"promote {wanted}: not a version this project can serve (the"
                f" challenger is {challenger})"
            )
        local = settings.model_file
        before = version(local) if local.is_file() else None
        serve_challenger(settings)
        moved = f"champion: {before} -> {challenger}", load_model(local)
    else:
        serve_registered(moved[1], settings)
    by_hand(*moved, "promote", settings, params)
    return moved[0]


def rollback(settings: Settings, params: Params) -> str:
    """Serve the champion before this one again; return the line to print."""
    require(settings.test_file)
    line, served = rollback_in_registry(settings)
    serve_registered(served, settings)
    by_hand(line, served, "rollback", settings, params)
    return line


def by_hand(
    line: str, served: TrainedModel, command: str, settings: Settings, params: Params
) -> None:
    """Write the reports of a model that `promote` or `rollback` serves."""
    before, _, after = line.removeprefix("champion: ").partition(" -> ")
    decision = Decision(
        promoted=True,
        challenger=after,
        challenger_accuracy=score(
            served, read_table(settings.test_file, [*served.features, TARGET])
        )["accuracy"],
        champion=before,
        champion_accuracy=None,
        reason=f"`{command}` made {after} the champion (was {before})",
    )
    report(served, decision, settings, params)
