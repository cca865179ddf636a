"""The trained model as files: the estimator with what is needed to use it safely
(`model.joblib`), and its export to ONNX, which serving prefers (`model.onnx`).

joblib and skl2onnx are imported by the functions that use them: serving an ONNX
export needs neither.
"""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

from .errors import ProjectError
from .files import atomic_path, digest, require

# The ONNX model's input, and the output that holds the class probabilities.
ONNX_INPUT = "input"
ONNX_PROBABILITIES = "probabilities"


class Parity(TypedDict):
    """evaluate's check that the ONNX export gives the model's own probabilities
    (reports/onnx_parity.json): serving uses the export only when it passed."""

    onnx_sha256: str
    max_abs_difference: float
    tolerance: float
    passed: bool


def parity_verdict(parity: Parity) -> str:
    """The check's verdict in words, for the model card, evaluate and the server."""
    gap, tolerance = parity["max_abs_difference"], parity["tolerance"]
    measured = f"probabilities differ by up to {gap:.3g}, tolerance {tolerance:g}"
    if parity["passed"]:
        return f"the ONNX export matches ({measured})"
    return f"the ONNX export fails its parity check ({measured})"


@dataclass(frozen=True)
class TrainedModel:
    estimator: Any  # a fitted scikit-learn estimator with predict_proba
    features: tuple[str, ...]
    classes: tuple[str, ...]
    trained_at: str
    params: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None  # the experiment tracking run that trained it, if any
    onnx_error: str | None = None  # why it has no ONNX export, when it has none

    def metadata(self) -> dict[str, str]:
        """Return what an export must carry to serve without this file, as JSON."""
        facts = ("features", "classes", "trained_at", "params")
        return {name: json.dumps(getattr(self, name)) for name in facts}

    def save(self, path: Path) -> None:
        import joblib

        with atomic_path(path) as temporary:
            joblib.dump(self, temporary)

    def export_onnx(self, path: Path) -> "TrainedModel":
        """Write the estimator to `path` in ONNX format, with the model's metadata.

        Returns the model, with the reason in `onnx_error` when the estimator cannot be
        converted; then no export is left at `path`, not even an older one.
        """
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import DoubleTensorType

        # Float64 in, as scikit-learn computes: the probabilities then agree to 1e-15.
        input_type = DoubleTensorType([None, len(self.features)])
        try:
            exported = to_onnx(
                self.estimator,
                initial_types=[(ONNX_INPUT, input_type)],
                options={"zipmap": False},  # probabilities as a matrix, not dicts
            )
        except Exception as error:  # skl2onnx raises many kinds for what it cannot do
            path.unlink(missing_ok=True)
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            return replace(self, onnx_error=reason)
        for key, value in self.metadata().items():
            exported.metadata_props.add(key=key, value=value)
        with atomic_path(path) as temporary:
            temporary.write_bytes(exported.SerializeToString())
        return replace(self, onnx_error=None)


def load(path: Path) -> TrainedModel:
    """Load a model written by `TrainedModel.save`.

    joblib files are pickles: only load models that your own pipeline wrote.
    """
    import joblib

    model = joblib.load(require(path))
    if not isinstance(model, TrainedModel):
        raise ProjectError(f"{path} is not a model written by this project")
    return model


def version(path: Path) -> str:
    """Return a short hash: two files with the same version hold the same model."""
    return digest(require(path))[:12]


class ServedModel(NamedTuple):
    """A model to serve, with the version and the evaluation metrics /model shows."""

    model: TrainedModel
    version: str
    metrics: dict[str, float]
    # Its ONNX export, when evaluate found that it gives the model's own answers;
    # else None, and why in `onnx_refusal`.
    onnx_file: Path | None = None
    onnx_refusal: str = "no ONNX export"
