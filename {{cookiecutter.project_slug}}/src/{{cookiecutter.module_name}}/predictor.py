"""The model that answers predictions, for the command line and the HTTP API alike.

The pipeline's model is served by ONNX Runtime when train exported it and evaluate found
that the export gives the model's own probabilities (`reports/onnx_parity.json`): it
answers a row in microseconds, where scikit-learn spends most of a call checking its
input. A registered model is served by its logged export on the same condition.
Otherwise scikit-learn answers; the reason is logged, and shown by /model and /health.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import dataset, speed
from .errors import ProjectError
from .files import digest
from .model import (
    ONNX_INPUT,
    ONNX_PROBABILITIES,
    Parity,
    ServedModel,
    load,
    parity_verdict,
    version,
)
from .settings import Settings
from .tracking import registered_model

log = logging.getLogger(__name__)


class Runtime(Protocol):
    name: str

    def probabilities(self, matrix: np.ndarray) -> np.ndarray: ...


class OnnxRuntime:
    """An ONNX model run by ONNX Runtime, on one thread: worker processes add cores."""

    name = "onnx"

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        self.metadata: dict[str, str] = self.session.get_modelmeta().custom_metadata_map

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        # Only the probabilities: the labels output costs a Python string per row.
        [probabilities] = self.session.run([ONNX_PROBABILITIES], {ONNX_INPUT: matrix})
        return np.asarray(probabilities)


class EstimatorRuntime:
    """A scikit-learn estimator (or anything else with predict_proba)."""

    name = "scikit-learn"

    def __init__(self, estimator: Any) -> None:
        import sklearn

        self.estimator = estimator
        self.config = sklearn.config_context

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        # Callers check their input (the API's schema refuses NaN and infinity), so
        # scikit-learn's own finiteness check is skipped.
        with self.config(assume_finite=True):
            return np.asarray(self.estimator.predict_proba(matrix))


@dataclass(frozen=True)
class Predictor:
    """A model ready to answer, with the facts /model shows about it."""

    runtime: Runtime
    version: str
    features: tuple[str, ...]
    classes: tuple[str, ...]
    trained_at: str
    params: dict[str, Any]
    metrics: dict[str, float]
    # Why scikit-learn answers rather than ONNX Runtime (None when ONNX does).
    runtime_reason: str | None = None

    @classmethod
    def load(cls, settings: Settings) -> "Predictor":
        """Load the registered model when MODEL_URI is set, else the pipeline's; refuse
        one whose features or classes are not the data module's."""
        predictor = cls.load_any(settings)
        predictor.require_declared()
        return predictor

    def require_declared(self) -> None:
        """Raise ProjectError when the model's features or classes are not those that
        dataset.py declares: every request would fail, or answer wrongly."""
        for facts, mine, declared in (
            ("features", self.features, dataset.FEATURES),
            ("classes", self.classes, dataset.CLASSES),
        ):
            if set(mine) != set(declared):
                raise ProjectError(
                    f"model {self.version} does not fit dataset.py: its {facts} are"
                    f" {', '.join(mine)}, not {', '.join(declared)} (run the pipeline)"
                )

    @classmethod
    def load_any(cls, settings: Settings) -> "Predictor":
        """Load the registered model when MODEL_URI is set, else the pipeline's."""
        registered = registered_model(settings)
        if registered is not None:
            if registered.onnx_file is not None:
                onnx = registered.onnx_file
                return cls.from_onnx(onnx, registered.version, registered.metrics)
            return cls.from_estimator(registered, registered.onnx_refusal)
        model_version = version(settings.model_file)
        metrics_file = settings.metrics_file
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        refusal = onnx_refusal(settings)
        if refusal is None:
            return cls.from_onnx(settings.onnx_file, model_version, metrics)
        model = load(settings.model_file)
        reason = f"no ONNX export: {model.onnx_error}" if model.onnx_error else refusal
        return cls.from_estimator(ServedModel(model, model_version, metrics), reason)

    @classmethod
    def from_onnx(
        cls, path: Path, model_version: str, metrics: dict[str, float]
    ) -> "Predictor":
        """ONNX Runtime answers; the facts /model shows are in the export's metadata."""
        runtime = OnnxRuntime(path)
        facts = {key: json.loads(value) for key, value in runtime.metadata.items()}
        return cls(
            runtime,
            model_version,
            tuple(facts["features"]),
            tuple(facts["classes"]),
            facts["trained_at"],
            facts["params"],
            metrics,
        )

    @classmethod
    def from_estimator(cls, served: ServedModel, reason: str) -> "Predictor":
        log.warning("scikit-learn answers predictions: %s", reason)
        model = served.model
        return cls(
            EstimatorRuntime(model.estimator),
            served.version,
            model.features,
            model.classes,
            model.trained_at,
            model.params,
            served.metrics,
            reason,
        )

    def matrix(self, rows: Sequence[Mapping[str, object]]) -> np.ndarray:
        """Return the rows as a float matrix, in the order of the model's features."""
        try:
            return speed.matrix(rows, self.features)
        except KeyError as missing:
            raise ProjectError(f"every row needs the feature {missing}") from None

    def answer(self, matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Return each row's label and class probabilities, in one vectorised call."""
        probabilities = self.runtime.probabilities(matrix).round(6)
        labels = [self.classes[best] for best in probabilities.argmax(axis=1).tolist()]
        return labels, probabilities

    def predict(
        self, rows: Sequence[Mapping[str, float]]
    ) -> tuple[list[str], list[dict[str, float]]]:
        """Predict rows of named features: each row's label, and its probability for
        each class."""
        labels, probabilities = self.answer(self.matrix(rows))
        return labels, speed.dicts(self.classes, probabilities)


def onnx_refusal(settings: Settings) -> str | None:
    """Say why the ONNX export may not serve the pipeline's model; None if it may."""
    parity_file = settings.onnx_parity_file
    if not settings.onnx_file.is_file():
        return "no ONNX export: run train"
    if not parity_file.is_file():
        return "the ONNX export is not checked yet: run evaluate"
    parity: Parity = json.loads(parity_file.read_text())
    if parity["onnx_sha256"] != digest(settings.onnx_file):
        return "the ONNX export changed since evaluate checked it: run evaluate"
    return None if parity["passed"] else parity_verdict(parity)
