"""Each pipeline step on its own: files in, files out."""

import json
from collections.abc import Callable
from pathlib import Path

import joblib
import pandas as pd
import pytest
from derived import labelled_frame, outside_range

from {{ cookiecutter.module_name }} import dataset
from {{ cookiecutter.module_name }}.dataset import (
    CLASSES,
    EXAMPLE,
    FEATURES,
    TARGET,
)
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
    """Settings whose challenger is a freshly trained model, with its export."""
    model = train(prepared.train_file, params.train, params.seed)
    model.export_onnx(prepared.candidate_onnx_file).save(prepared.candidate_file)
    return prepared


def test_ingest_writes_every_row_with_named_columns(settings: Settings) -> None:
    rows, labelled = ingest(settings.raw_data_file)
    assert labelled == 0  # no feedback file yet

    frame = pd.read_csv(settings.raw_data_file)
    assert rows == len(frame) == len(dataset.load())
    assert list(frame.columns) == [*FEATURES, TARGET]
    assert set(frame[TARGET].astype(str)) == set(CLASSES)
    assert list(settings.raw_data_file.parent.iterdir()) == [settings.raw_data_file]


def broken(column: str, value: object, rows: int) -> pd.DataFrame:
    """The generated data set, with `value` in `column` of its first `rows` rows."""
    frame = labelled_frame()
    cells = frame[column].astype(object).tolist()
    frame[column] = pd.Series([value] * rows + cells[rows:], dtype=object)
    return frame


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: broken(FEATURES[0], "long", 3),
            rf"^column '{FEATURES[0]}': Input should be a valid number \(3 of \d+ ",
        ),
        (
            lambda: broken(*outside_range(), 2),
            r"^column '\w+': Input should be (greater|less) than .*\(2 of \d+ rows\)$",
        ),
        (
            lambda: broken(TARGET, "no-such-class", 4),
            rf"^column '{TARGET}': must be one of .*, not 'no-such-class' \(4 of",
        ),
        (
            lambda: labelled_frame().drop(columns=FEATURES[-1]),
            rf"^column '{FEATURES[-1]}': missing \(dataset.py declares it\)$",
        ),
    ],
)
def test_ingest_refuses_data_that_breaks_the_declaration_and_writes_nothing(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], pd.DataFrame],
    message: str,
) -> None:
    monkeypatch.setattr(dataset, "load", make)

    with pytest.raises(ProjectError, match=message):
        ingest(settings.raw_data_file)
    assert not settings.raw_data_file.parent.exists()


def test_ingest_leaves_empty_cells_to_prepare(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset, "load", lambda: broken(FEATURES[0], None, 2))

    assert ingest(settings.raw_data_file)[0] == len(labelled_frame())


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
    first = FEATURES[0]

    def row(value: float | None, label: str) -> dict[str, object]:
        return {**EXAMPLE, first: value, TARGET: label}

    repeated = [row(1.0, "a"), row(2.0, "b")] * 5
    distinct = [row(10.0 + i, "a" if i % 2 else "b") for i in range(10)]
    incomplete = [row(None, "a")]
    pd.DataFrame(repeated + distinct + incomplete).to_csv(raw, index=False)

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
    raw.write_text(f"{TARGET}\n{CLASSES[0]}\n")

    with pytest.raises(ProjectError, match=f"missing column.*{FEATURES[0]}"):
        prepare(raw, settings.train_file, settings.test_file, PrepareParams(), seed=0)


def test_train_saves_a_model_that_knows_its_features_and_classes(
    fitted: Settings, params: Params
) -> None:
    model = load(fitted.candidate_file)

    assert model.features == FEATURES
    assert set(model.classes) == set(CLASSES)
    assert model.params["seed"] == params.seed
    assert len(version(fitted.candidate_file)) == 12


def test_load_refuses_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"not": "a model"}, path)

    with pytest.raises(ProjectError, match="not a model written by this project"):
        load(path)


def test_evaluate_scores_the_model_on_the_test_set(
    fitted: Settings, params: Params
) -> None:
    evaluation = evaluate(fitted, params)
    metrics = evaluation.metrics

    assert json.loads(fitted.metrics_file.read_text()) == metrics
    assert metrics["test_rows"] == len(pd.read_csv(fitted.test_file))
    parity = json.loads(fitted.onnx_parity_file.read_text())
    assert metrics["onnx_max_abs_difference"] == parity["max_abs_difference"]
    assert params.evaluate.min_accuracy <= metrics["accuracy"] <= 1
    assert 0 < metrics["f1_macro"] <= 1
    text = fitted.model_card_file.read_text()
    assert f"- accuracy: {metrics['accuracy']}" in text
    assert f"- Classes: {', '.join(load(fitted.model_file).classes)}" in text
    chosen = params.train.estimator.model_dump()
    assert f"- estimator: {chosen.pop('kind')}" in text
    assert all(f"- {name}: {value}" in text for name, value in chosen.items())
    assert "git commit" in text
    assert evaluation.decision["promoted"] is True
    assert f"- Decision: {evaluation.decision['reason']}" in text


def test_a_model_below_the_accuracy_floor_fails_evaluation(
    fitted: Settings, params: Params
) -> None:
    # Every test label moved to the next class: the model cannot score them all.
    test_set = pd.read_csv(fitted.test_file)
    labels = test_set[TARGET].astype(str)
    shift = dict(zip(CLASSES, (*CLASSES[1:], CLASSES[0]), strict=True))
    test_set[TARGET] = labels.map(shift)
    test_set.to_csv(fitted.test_file, index=False)

    strict = params.model_copy(update={"evaluate": EvaluateParams(min_accuracy=1.0)})
    evaluation = evaluate(fitted, strict)

    decision = json.loads(fitted.promotion_file.read_text())
    assert decision == evaluation.decision and decision["promoted"] is False
    assert "is below evaluate.min_accuracy 1.0" in decision["reason"]


def test_a_step_without_its_input_says_what_to_run(settings: Settings) -> None:
    with pytest.raises(ProjectError, match="does not exist: run the earlier"):
        evaluate(settings, Params())
