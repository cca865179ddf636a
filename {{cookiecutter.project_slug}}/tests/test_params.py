from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.params import Params, load_params


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_the_shipped_parameters_are_valid(params: Params) -> None:
    assert params.seed >= 0
    assert 0 < params.prepare.test_size < 1
    assert params.train.estimator.kind in {"logistic_regression", "random_forest"}


def test_missing_sections_take_their_defaults(tmp_path: Path) -> None:
    assert load_params(write(tmp_path, "seed: 7\n")) == Params(seed=7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prepare: {test_size: 1.5}\n", "prepare.test_size: Input should be less"),
        (
            "train: {estimator: {kind: logistic_regression, C: 0}}\n",
            "train.estimator.logistic_regression.C: Input should be greater than 0",
        ),
        (
            "train: {estimator: {kind: random_forest, max_itr: 10}}\n",
            "train.estimator.random_forest.max_itr: Extra inputs are not permitted",
        ),
        (
            "train: {estimator: {kind: svm}}\n",
            "train.estimator: Input tag 'svm' found using 'kind' does not match",
        ),
        ("seed: [1\n", r"params.yaml:2: not valid YAML: expected ',' or ']'"),
        ("- 1\n", r"\(top level\): Input should be a valid dictionary"),
    ],
)
def test_a_bad_parameter_is_named_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ProjectError, match=message) as raised:
        load_params(write(tmp_path, text))

    assert "\n" not in str(raised.value)


def test_a_missing_parameters_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="parameters file not found"):
        load_params(tmp_path / "nope.yaml")
