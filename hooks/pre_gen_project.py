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

# cookiecutter renders this file before running it. tojson escapes quotes as \u0027, so
# the raw string holds valid JSON and the file stays valid Python before rendering too.
ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | tojson }}""")

SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# Long enough for real names, short enough that generated code keeps its formatting.
MAX_SLUG_LENGTH = 40
# `test` (CPython's own test suite) is missing from sys.stdlib_module_names.
STDLIB = sys.stdlib_module_names | {"test"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# Import names of the generated project's dependencies and tools: a module with one of
# these names would shadow the real package inside the project's own environment.
DEPENDENCIES = frozenset(
    {
        "airflow",
        "black",
        "fastapi",
        "flake8",
        "joblib",
        "mlflow",
        "mypy",
        "numpy",
        "pandas",
        "pre_commit",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "redis",
        "ruff",
        "scipy",
        "sklearn",
        "starlette",
        "tests",
        "typer",
        "uvicorn",
        "yaml",
    }
)


def problems(answers: dict[str, str]) -> list[str]:
    """Return one message per broken rule, in the order the questions are asked."""
    found = []
    name = answers["project_name"]
    if not name.strip():
        found.append(f"project_name {name!r} is invalid: it must not be empty or blank")
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
    email = answers["author_email"]
    if not EMAIL.fullmatch(email):
        found.append(
            f"author_email {email!r} is invalid: it needs a name, an @ and a domain" " with a dot"
        )
    version = answers["python_version"]
    if version not in SUPPORTED_PYTHONS:
        found.append(
            f"python_version {version!r} is invalid: choose one of"
            f" {', '.join(SUPPORTED_PYTHONS)}"
        )
    return found


def main() -> int:
    found = problems(ANSWERS)
    if found:
        print(f"error: {found[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
