"""Pipeline parameters, loaded from `configs/params.yaml` and checked before use."""

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ProjectError, first_problem


class _Section(BaseModel):
    # A misspelt key is an error, not a silently ignored parameter.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrepareParams(_Section):
    test_size: float = Field(default=0.2, gt=0, lt=1)


class LogisticRegressionParams(_Section):
    kind: Literal["logistic_regression"] = "logistic_regression"
    C: float = Field(default=1.0, gt=0)
    max_iter: int = Field(default=200, ge=1)


class RandomForestParams(_Section):
    kind: Literal["random_forest"]
    n_estimators: int = Field(default=100, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    min_samples_leaf: int = Field(default=1, ge=1)


# `kind` names the estimator; each kind takes its own parameters.
EstimatorParams = Annotated[
    LogisticRegressionParams | RandomForestParams, Field(discriminator="kind")
]


class TrainParams(_Section):
    estimator: EstimatorParams = LogisticRegressionParams()


class EvaluateParams(_Section):
    # A model below this test accuracy fails evaluation, and does not serve.
    min_accuracy: float = Field(default=0.9, ge=0, le=1)
    # The ONNX export serves only if its probabilities differ from the model's by less.
    onnx_tolerance: float = Field(default=1e-6, ge=0)


class PromoteParams(_Section):
    # A challenger serves when its test accuracy is at least the champion's minus
    # this (0: a tie promotes; 0.01 accepts a point less, for a fresher model).
    max_regression: float = Field(default=0.0, ge=0, le=1)


class MonitorParams(_Section):
    # The drift report reads this many of the most recent stored predictions...
    window: int = Field(default=1000, ge=1)
    # ...and refuses to judge drift from fewer than this.
    min_predictions: int = Field(default=30, ge=2)
    # A feature drifts when the two-sample Kolmogorov-Smirnov test rejects "same
    # distribution" at this level and its population stability index reaches
    # `min_psi`: the test alone flags tiny shifts in large windows, and the index
    # alone is noisy in small ones.
    p_value: float = Field(default=0.01, gt=0, lt=1)
    min_psi: float = Field(default=0.1, ge=0)
    # The verdict says "retrain" when a feature drifts, or when the window's predictions
    # with feedback were right less often than this, once at least `min_feedback` of
    # them have feedback.
    min_live_accuracy: float = Field(default=0.85, ge=0, le=1)
    min_feedback: int = Field(default=30, ge=1)


class Params(_Section):
    seed: int = Field(default=42, ge=0)
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    promote: PromoteParams = PromoteParams()
    monitor: MonitorParams = MonitorParams()


def load_params(path: Path) -> Params:
    """Read and check the parameters file; raise ProjectError naming the bad field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: parameters file not found") from None
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else "?"
        raise ProjectError(f"{path}:{line}: not valid YAML: {error.problem}") from None
    try:
        return Params.model_validate(raw or {})
    except ValidationError as error:
        field, message = first_problem(error)
        raise ProjectError(f"{path}: {field}: {message}") from None
