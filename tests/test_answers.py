"""Bad answers stop cookiecutter with one clear line and leave nothing behind."""

from __future__ import annotations

import html
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import markdown
import pytest
import yaml

from baking import CHOICES, bake, cookiecutter, cookiecutter_prompted

BAD_ANSWERS = [
    ("project_name", "", "it must not be empty or blank"),
    ("project_name", "   ", "it must not be empty or blank"),
    ("project_slug", "My Project", "use lower-case letters, digits and single dashes"),
    ("project_slug", "-leading-dash", "starting with a letter"),
    ("project_slug", "trailing-", "use lower-case letters, digits and single dashes"),
    ("project_slug", "double--dash", "use lower-case letters, digits and single dashes"),
    ("project_slug", "2fast", "starting with a letter"),
    ("project_slug", "a" * 41, "use at most 40 characters"),
    # Answers that named a folder cookiecutter made before any check could run.
    ("project_slug", "", "use lower-case letters, digits and single dashes"),
    ("project_slug", "x/../../etc", "use lower-case letters, digits and single dashes"),
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
    ("github_owner", 'my org"', "use at most 39 letters, digits and single dashes"),
    ("github_owner", "-leading", "not starting or ending with a dash"),
    ("github_owner", "double--dash", "single dashes"),
    ("github_owner", "a" * 40, "at most 39"),
    ("description", "two\nlines", "it must be one line, without control characters"),
    ("author_name", "tab\there", "it must be one line, without control characters"),
    ("python_version", "3.9", f"choose one of {', '.join(CHOICES['python_version'])}"),
    ("python_version", "3.99", f"choose one of {', '.join(CHOICES['python_version'])}"),
]


@pytest.mark.parametrize(("field", "value", "rule"), BAD_ANSWERS)
def test_a_bad_answer_is_refused_in_one_line(
    output_dir: Path, field: str, value: str, rule: str
) -> None:
    done = cookiecutter(output_dir, **{field: value})

    assert done.returncode == 1
    [error] = done.stderr.splitlines()  # that line, and nothing else
    assert error.startswith(f"error: {field} {value!r} is invalid: ")
    assert rule in error
    assert list(output_dir.iterdir()) == []


def test_a_choice_outside_its_menu_is_refused_by_cookiecutter(output_dir: Path) -> None:
    # cookiecutter itself refuses a value that is not one of a menu's options, before
    # the answers are checked; its last line names the field, the value and the
    # choices, under a traceback of its own.
    done = cookiecutter(output_dir, license="GPL")

    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "license" in last and "GPL" in last and "MIT" in last
    assert list(output_dir.iterdir()) == []


def test_names_are_derived_from_the_project_name(output_dir: Path) -> None:
    project = bake(output_dir, project_name="Churn Forecast 2")

    assert project.path.name == "churn-forecast-2"
    assert project.has_file("src/churn_forecast_2/cli.py")


def test_a_module_name_can_be_chosen_apart_from_the_slug(output_dir: Path) -> None:
    project = bake(output_dir, project_slug="iris-api", module_name="iris_model")

    assert project.has_file("src/iris_model/pipeline/train.py")
    assert 'iris-api = "iris_model.cli:app"' in project.read("pyproject.toml")


# Typed at the prompts: accents, emoji, quotes, backslashes, Markdown and Jinja syntax.
FREE_TEXT = {
    "project_name": 'Zoë\'s "Fraud" {{ Scoring }} 🕵️',
    "description": 'Flags "risky" payments {{ fast }} {% raw %} \\o/ <b>*now*</b> é 🎉',
    "author_name": 'O\'Brien "Ana" \\ Co {{ 🦊',
}


def as_read(markdown_line: str) -> str:
    """The text a reader sees once a line of Markdown is rendered."""
    rendered = markdown.markdown(markdown_line)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def test_free_text_answers_survive_in_every_file_type(output_dir: Path) -> None:
    name, description, author = FREE_TEXT.values()
    project = cookiecutter_prompted(output_dir, [name, "", "", description, author])

    assert project.path.name == "zoe-s-fraud-scoring"
    parsers: dict[str, Callable[[str], object]] = {
        ".toml": tomllib.loads,
        ".json": json.loads,
        ".yaml": yaml.safe_load,
        ".yml": yaml.safe_load,
    }
    for path in project.path.rglob("*"):
        if path.suffix in parsers and ".git" not in path.parts:
            parsers[path.suffix](path.read_text(encoding="utf-8"))
    pyproject = tomllib.loads(project.read("pyproject.toml"))["project"]
    assert pyproject["description"] == description
    assert pyproject["authors"][0]["name"] == author
    title, _, summary = project.read("README.md").splitlines()[:3]
    assert as_read(title) == name
    assert as_read(summary) == description
    assert author in project.read("LICENSE")
