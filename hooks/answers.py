"""Check the answers before cookiecutter writes anything.

cookiecutter loads this module as a Jinja extension (`_extensions` in cookiecutter.json),
which gives it the `checked` filter. The private answer `__checked`, the last of
cookiecutter.json, applies it once every question is answered, before any folder is
made: the first broken rule is printed as one line naming the field, the rule and the
bad value (later answers are often derived from the first bad one), and cookiecutter
stops with exit status 1, leaving nothing behind. A pre-generation hook would run too
late for that: cookiecutter makes the project's folder first, so an empty slug names
the output folder itself, and one holding `..` makes folders elsewhere.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# Long enough for real names, short enough that generated code keeps its formatting.
MAX_SLUG_LENGTH = 40
# `test` (CPython's own test suite) is missing from sys.stdlib_module_names.
STDLIB = sys.stdlib_module_names | {"test"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# GitHub's rule for user and organisation names.
GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
# Import names of the generated project's dependencies and tools: a module with one of
# these names would shadow the real package inside the project's own environment.
DEPENDENCIES = frozenset(
    {
        "airflow",
        "bandit",
        "black",
        "cookiecutter",
        "cruft",
        "fastapi",
        "fastapi_offline",
        "filelock",
        "flake8",
        "hatchling",
        "hypothesis",
        "httpx2",
        "joblib",
        "kubernetes",
        "locust",
        "mirakuru",
        "mlflow",
        "mypy",
        "numpy",
        "onnx",
        "onnxruntime",
        "orjson",
        "pandas",
        "pip",
        "pip_audit",
        "pre_commit",
        "prometheus_client",
        "pyarrow",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "pytest_cov",
        "pytest_redis",
        "pytest_xdist",
        "redis",
        "ruff",
        "schemathesis",
        "scipy",
        "skl2onnx",
        "skops",
        "sklearn",
        "starlette",
        "tests",
        "typer",
        "typing_extensions",
        "uvicorn",
        "yaml",
    }
)


def problems(answers: Mapping[str, Any]) -> list[str]:
    """Return one message per broken rule, in the order the questions are asked."""
    found = []

    def one_line(field: str) -> None:
        if any(unicodedata.category(character) == "Cc" for character in answers[field]):
            found.append(
                f"{field} {answers[field]!r} is invalid: it must be one line, without"
                " control characters"
            )

    name = answers["project_name"]
    if not name.strip():
        found.append(f"project_name {name!r} is invalid: it must not be empty or blank")
    one_line("project_name")
    slug = answers["project_slug"]
    if not SLUG.fullmatch(slug):
        found.append(
            f"project_slug {slug!r} is invalid: use lower-case letters, digits and single"
            " dashes, starting with a letter"
        )
    elif len(slug) > MAX_SLUG_LENGTH:
        found.append(f"project_slug {slug!r} is invalid: use at most {MAX_SLUG_LENGTH} characters")
    module = answers["module_name"]
    if not module.isidentifier() or not module.isascii():
        found.append(f"module_name {module!r} is invalid: it must be a Python identifier")
    elif keyword.iskeyword(module) or keyword.issoftkeyword(module):
        found.append(f"module_name {module!r} is invalid: it is a Python keyword")
    elif module in STDLIB:
        found.append(f"module_name {module!r} is invalid: it shadows the standard library module")
    elif module in DEPENDENCIES:
        found.append(f"module_name {module!r} is invalid: it shadows a dependency")
    one_line("description")
    one_line("author_name")
    email = answers["author_email"]
    if not EMAIL.fullmatch(email):
        found.append(
            f"author_email {email!r} is invalid: it needs a name, an @ and a domain with a dot"
        )
    owner = answers["github_owner"]
    if not GITHUB_OWNER.fullmatch(owner):
        found.append(
            f"github_owner {owner!r} is invalid: use at most 39 letters, digits and single"
            " dashes, not starting or ending with a dash"
        )
    versions = answers["__python_version_choices"]
    version = answers["python_version"]
    if version not in versions:
        found.append(f"python_version {version!r} is invalid: choose one of {', '.join(versions)}")
    return found


def checked(answers: Mapping[str, Any]) -> str:
    """Stop cookiecutter with the first broken rule, if any; else render nothing."""
    found = problems(answers)
    if found:
        sys.exit(f"error: {found[0]}")
    return ""


class AnswersCheck(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["checked"] = checked
