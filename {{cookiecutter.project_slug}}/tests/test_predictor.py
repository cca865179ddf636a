"""The model that answers: ONNX Runtime when its export passed the parity check, else
scikit-learn, with the reason."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from derived import labelled_frame, row_of
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from {{ cookiecutter.module_name }}.dataset import CLASSES, FEATURES, TARGET
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.model import load, parity_verdict
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.pipeline.evaluate import evaluate
from {{ cookiecutter.module_name }}.predictor import (
    EstimatorRuntime,
    OnnxRuntime,
    Predictor,
)
from {{ cookiecutter.module_name }}.settings import Settings


@pytest.fixture
def pipeline(trained: Settings, tmp_path: Path) -> Settings:
    """A copy of the trained pipeline's files, which a test may change."""
    for folder in ("data_dir", "models_dir", "reports_dir"):
        shutil.copytree(getattr(trained, folder), tmp_path / folder)
    return trained.model_copy(
        update={
            name: tmp_path / name for name in ("data_dir", "models_dir", "reports_dir")
        }
    )


def test_the_export_serves_exactly_when_it_passed_its_check(trained: Settings) -> None:
    predictor = Predictor.load(trained)
    parity = json.loads(trained.onnx_parity_file.read_text())

    if parity["passed"]:
        assert (predictor.runtime.name, predictor.runtime_reason) == ("onnx", None)
    else:  # a random forest's export, for one: see the model card
        assert predictor.runtime.name == "scikit-learn"
        assert "fails its parity check" in str(predictor.runtime_reason)
    assert set(predictor.features) == set(FEATURES)
    assert set(predictor.classes) == set(CLASSES)


def test_onnx_and_scikit_learn_give_the_same_answers(trained: Settings) -> None:
    model = load(trained.model_file)
    reference = replace(
        Predictor.load(trained), runtime=EstimatorRuntime(model.estimator)
    )
    onnx = replace(reference, runtime=OnnxRuntime(trained.onnx_file))
    tolerance = json.loads(trained.onnx_parity_file.read_text())["tolerance"]
    rows = [row_of(CLASSES[0]), row_of(CLASSES[-1])]

    (fast, quick), (slow, checked) = onnx.predict(rows), reference.predict(rows)

    assert fast == slow == [*CLASSES[:1], CLASSES[-1]]
    for answered, expected in zip(quick, checked, strict=True):
        assert answered == pytest.approx(expected, abs=tolerance)
        assert sum(answered.values()) == pytest.approx(1, abs=1e-5)


def test_a_failed_parity_check_keeps_the_export_from_serving(
    pipeline: Settings, params: Params
) -> None:
    # With a tolerance of 0, no difference is small enough, however small.
    exact = params.evaluate.model_copy(update={"onnx_tolerance": 0})
    evaluation = evaluate(pipeline, params.model_copy(update={"evaluate": exact}))

    predictor = Predictor.load(pipeline)

    assert evaluation.parity is not None and evaluation.parity["passed"] is False
    assert predictor.runtime.name == "scikit-learn"
    # One verdict, in the same words wherever it is read.
    assert predictor.runtime_reason == parity_verdict(evaluation.parity)
    card = pipeline.model_card_file.read_text()
    assert f"- Runtime: scikit-learn: {predictor.runtime_reason}" in card
    [label], _ = predictor.predict([row_of(CLASSES[0])])
    assert label == CLASSES[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("edit the export", "changed since evaluate checked it"),
        ("delete the check", "not checked yet: run evaluate"),
        ("delete the export", "no ONNX export: run train"),
    ],
)
def test_an_export_that_was_not_checked_does_not_serve(
    pipeline: Settings, change: str, reason: str
) -> None:
    if change == "edit the export":
        with pipeline.onnx_file.open("ab") as export:
            export.write(b"\n")
    else:
        target = pipeline.onnx_parity_file if "check" in change else pipeline.onnx_file
        target.unlink()

    predictor = Predictor.load(pipeline)

    assert predictor.runtime.name == "scikit-learn"
    assert reason in str(predictor.runtime_reason)


def test_an_estimator_onnx_cannot_convert_is_served_by_scikit_learn(
    pipeline: Settings, params: Params
) -> None:
    model = load(pipeline.candidate_file)
    # skl2onnx converts a FunctionTransformer only when it does nothing.
    custom = make_pipeline(
        FunctionTransformer(np.negative), StandardScaler(), LogisticRegression()
    )
    frame = labelled_frame()
    custom.fit(frame[list(FEATURES)].to_numpy(), frame[TARGET])
    classes = tuple(str(label) for label in custom.classes_)
    exported = replace(model, estimator=custom, classes=classes)
    exported = exported.export_onnx(pipeline.candidate_onnx_file)
    exported.save(pipeline.candidate_file)
    # No accuracy floor, no champion to beat: this test is about the export.
    pipeline.model_file.unlink()
    anything = params.evaluate.model_copy(update={"min_accuracy": 0})
    evaluate(pipeline, params.model_copy(update={"evaluate": anything}))

    predictor = Predictor.load(pipeline)

    assert not pipeline.onnx_file.exists()
    assert not pipeline.onnx_parity_file.exists()
    assert str(predictor.runtime_reason).startswith("no ONNX export: RuntimeError")
    assert predictor.predict([row_of(CLASSES[0])])[0] == [CLASSES[0]]


def test_a_row_without_every_feature_is_refused(trained: Settings) -> None:
    with pytest.raises(ProjectError, match="every row needs the feature"):
        Predictor.load(trained).predict([{}])


def test_the_parity_check_is_recorded(trained: Settings, params: Params) -> None:
    parity = json.loads(trained.onnx_parity_file.read_text())
    card = trained.model_card_file.read_text()

    assert parity["tolerance"] == params.evaluate.onnx_tolerance
    assert parity["passed"] is (parity["max_abs_difference"] < parity["tolerance"])
    runtime = "ONNX Runtime" if parity["passed"] else "scikit-learn"
    assert f"- Runtime: {runtime}: {parity_verdict(parity)}" in card
    assert f"differ by up to {parity['max_abs_difference']:.3g}" in card
