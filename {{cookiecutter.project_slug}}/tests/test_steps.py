"""Each pipeline step on its own: files in, files out."""

import json
from pathlib import Path

import joblib
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.dataset import FEATURES, TARGET
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.model import load, version
from {{ cookiecutter.module_name }}.params import (
    EvaluateParams,
    Params,
    PrepareParams,
)
from {{ cookiecutter.module_name }}.pipeline.evaluate import evaluate
from {{ cookiecutter.module_name }}.pipeline.ingest import ingest
from {{ cookiecutter.module_name }}.pipeline.prepare import prepare
from {{ cookiecutter.module_name }}.pipeline.train import train
from {{ cookiecutter.module_name }}.settings import Settings


@pytest.fixture
def ingested(settings: Settings) -> Settings:
    ingest(settings.raw_data_file)
    return settings


@pytest.fixture
def prepared(ingested: Settings, params: Params) -> Settings:
    prepare(
        ingested.raw_data_file,
        ingested.train_file,
        ingested.test_file,
        params.prepare,
        params.seed,
    )
    return ingested


@pytest.fixture
def fitted(prepared: Settings, params: Params) -> Settings:
    """Settings whose model file holds a freshly trained model, with its export."""
    model = train(prepared.train_file, params.train, params.seed)
    model.export_onnx(prepared.onnx_file).save(prepared.model_file)
    return prepared


def test_ingest_writes_every_flower_with_named_columns(settings: Settings) -> None:
    rows = ingest(settings.raw_data_file)

    frame = pd.read_csv(settings.raw_data_file)
    assert rows == len(frame) == 150
    assert list(frame.columns) == [*FEATURES, TARGET]
    assert set(frame[TARGET]) == {"setosa", "versicolor", "virginica"}
    assert list(settings.raw_data_file.parent.iterdir()) == [settings.raw_data_file]


def test_prepare_splits_stratified_without_overlap(
    prepared: Settings, params: Params
) -> None:
    train_set = pd.read_csv(prepared.train_file)
    test_set = pd.read_csv(prepared.test_file)

    assert len(test_set) == pytest.approx(
        (len(train_set) + len(test_set)) * params.prepare.test_size, abs=1
    )
    per_class = test_set[TARGET].value_counts()
    assert per_class.max() - per_class.min() <= 1
    keys = [*FEATURES, TARGET]
    assert train_set.merge(test_set, on=keys).empty


def test_prepare_drops_incomplete_and_duplicate_rows(
    settings: Settings, tmp_path: Path
) -> None:
    raw = tmp_path / "raw.csv"
    repeated = [[5.1, 3.5, 1.4, 0.2, "a"], [6.0, 2.9, 4.5, 1.5, "b"]] * 5
    distinct = [[float(i), 1.0, 1.0, 1.0, "a" if i % 2 else "b"] for i in range(10)]
    incomplete = [[None, 1.0, 1.0, 1.0, "a"]]
    rows = repeated + distinct + incomplete
    pd.DataFrame(rows, columns=[*FEATURES, TARGET]).to_csv(raw, index=False)

    kept = prepare(
        raw, settings.train_file, settings.test_file, PrepareParams(), seed=1
    )

    assert sum(kept) == 2 + 10


def test_prepare_is_deterministic_for_a_seed(
    prepared: Settings, params: Params, tmp_path: Path
) -> None:
    raw, split = prepared.raw_data_file, params.prepare
    same, other = tmp_path / "same.csv", tmp_path / "other.csv"
    prepare(raw, tmp_path / "train.csv", same, split, params.seed)
    prepare(raw, tmp_path / "train.csv", other, split, params.seed + 1)

    assert same.read_bytes() == prepared.test_file.read_bytes()
    assert other.read_bytes() != prepared.test_file.read_bytes()


def test_prepare_names_the_missing_column(settings: Settings, tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("sepal_length_cm,species\n1.0,setosa\n")

    with pytest.raises(ProjectError, match="missing column.*sepal_width_cm"):
        prepare(raw, settings.train_file, settings.test_file, PrepareParams(), seed=0)


def test_train_saves_a_model_that_knows_its_features_and_classes(
    fitted: Settings,
) -> None:
    model = load(fitted.model_file)

    assert model.features == FEATURES
    assert model.classes == ("setosa", "versicolor", "virginica")
    assert model.params["seed"] == 42
    assert len(version(fitted.model_file)) == 12


def test_load_refuses_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"not": "a model"}, path)

    with pytest.raises(ProjectError, match="not a model written by this project"):
        load(path)


def test_evaluate_scores_the_model_on_the_test_set(
    fitted: Settings, params: Params
) -> None:
    evaluation = evaluate(fitted, params.evaluate)
    metrics = evaluation.metrics

    assert json.loads(fitted.metrics_file.read_text()) == metrics
    assert metrics["test_rows"] == len(pd.read_csv(fitted.test_file))
    assert metrics["onnx_max_abs_difference"] < 1e-9
    assert params.evaluate.min_accuracy <= metrics["accuracy"] <= 1
    assert 0 < metrics["f1_macro"] <= 1
    text = fitted.model_card_file.read_text()
    assert f"- accuracy: {metrics['accuracy']}" in text
    assert "- Classes: setosa, versicolor, virginica" in text
    assert f"- C: {params.train.C}" in text
    assert "git commit" in text
    assert evaluation.passed is True
    assert "- Passes evaluation (min_accuracy): yes" in text


def test_a_model_below_the_accuracy_floor_fails_evaluation(fitted: Settings) -> None:
    evaluation = evaluate(fitted, EvaluateParams(min_accuracy=1.0))

    assert evaluation.passed is False
    card = fitted.model_card_file.read_text()
    assert "- Passes evaluation (min_accuracy): no" in card


def test_a_step_without_its_input_says_what_to_run(settings: Settings) -> None:
    with pytest.raises(ProjectError, match="does not exist: run the earlier"):
        evaluate(settings, EvaluateParams())
