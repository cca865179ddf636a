"""Reject bad answers before cookiecutter writes anything the user has to clean up.

The first broken rule is printed as one line naming the field, the rule and the bad
value (later answers are often derived from the first bad one), then the hook exits 1
and cookiecutter deletes the half-made project folder.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from typing import Any

# cookiecutter renders this file before running it. tojson escapes quotes as \u0027, so
# the raw string holds valid JSON and the file stays valid Python before rendering too.
ANSWERS: dict[str, Any] = json.loads(r"""{{ cookiecutter | tojson }}""")

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
        "fastapi",
        "filelock",
        "flake8",
        "hatchling",
        "hypothesis",
        "httpx2",
        "joblib",
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
        "pydantic",
        "pydantic_settings",
        "pytest",
        "pytest_cov",
        "pytest_redis",
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


def problems(answers: dict[str, Any]) -> list[str]:
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


def main() -> int:
    found = problems(ANSWERS)
    if found:
        print(f"error: {found[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
