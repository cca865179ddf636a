"""Bad answers stop cookiecutter with one clear line and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from baking import bake, cookiecutter

BAD_ANSWERS = [
    ("project_name", "", "it must not be empty or blank"),
    ("project_name", "   ", "it must not be empty or blank"),
    ("project_slug", "My Project", "use lower-case letters, digits and single dashes"),
    ("project_slug", "-leading-dash", "starting with a letter"),
    ("project_slug", "trailing-", "use lower-case letters, digits and single dashes"),
    ("project_slug", "double--dash", "use lower-case letters, digits and single dashes"),
    ("project_slug", "2fast", "starting with a letter"),
    ("project_slug", "a" * 41, "use at most 40 characters"),
    ("module_name", "my-module", "it must be a Python identifier"),
    ("module_name", "modèle", "it must be a Python identifier"),
    ("module_name", "class", "it is a Python keyword"),
    ("module_name", "match", "it is a Python keyword"),
    ("module_name", "json", "it shadows the standard library module"),
    ("module_name", "test", "it shadows the standard library module"),
    ("module_name", "fastapi", "it shadows a dependency"),
    ("module_name", "redis", "it shadows a dependency"),
    ("module_name", "sklearn", "it shadows a dependency"),
    ("author_email", "me", "it needs a name, an @ and a domain with a dot"),
    ("author_email", "me@localhost", "it needs a name, an @ and a domain with a dot"),
    ("author_email", "me@example.", "it needs a name, an @ and a domain with a dot"),
]


@pytest.mark.parametrize(("field", "value", "rule"), BAD_ANSWERS)
def test_a_bad_answer_is_refused_in_one_line(
    output_dir: Path, field: str, value: str, rule: str
) -> None:
    done = cookiecutter(output_dir, **{field: value})

    assert done.returncode != 0
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: {field} {value!r} is invalid: ")
    assert rule in error
    assert "Traceback" not in done.stderr.strip().splitlines()[-1]
    assert list(output_dir.iterdir()) == []


def test_a_python_version_outside_the_choices_is_refused(output_dir: Path) -> None:
    # cookiecutter itself refuses a value that is not one of a choice's options,
    # before any hook runs; its last line names the field, the value and the choices.
    done = cookiecutter(output_dir, python_version="3.9")

    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "python_version" in last and "3.9" in last and "3.11" in last
    assert list(output_dir.iterdir()) == []


def test_names_are_derived_from_the_project_name(output_dir: Path) -> None:
    project = bake(output_dir, project_name="Churn Forecast 2")

    assert project.path.name == "churn-forecast-2"
    assert project.has_file("src/churn_forecast_2/cli.py")


def test_a_module_name_can_be_chosen_apart_from_the_slug(output_dir: Path) -> None:
    project = bake(output_dir, project_slug="iris-api", module_name="iris_model")

    assert project.has_file("src/iris_model/pipeline/train.py")
    assert 'iris-api = "iris_model.cli:app"' in project.read("pyproject.toml")
