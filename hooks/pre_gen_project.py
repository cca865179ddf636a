"""Reject bad answers before cookiecutter writes anything the user has to clean up.

Each rule prints one line naming the field, the rule and the bad value, then exits 1;
cookiecutter then deletes the half-made project folder.
"""

from __future__ import annotations

import keyword
import re
import sys

ANSWERS = {
    "project_name": {{ cookiecutter.project_name | tojson }},
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "module_name": {{ cookiecutter.module_name | tojson }},
    "author_email": {{ cookiecutter.author_email | tojson }},
    "python_version": {{ cookiecutter.python_version | tojson }},
}

SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# Import names of the generated project's dependencies and tools: a module with one of
# these names would shadow the real package inside the project's own environment.
DEPENDENCIES = frozenset(
    {
        "airflow", "black", "fastapi", "flake8", "joblib", "mlflow", "mypy", "numpy",
        "pandas", "pre_commit", "pydantic", "pydantic_settings", "pytest", "redis",
        "ruff", "scipy", "sklearn", "starlette", "tests", "typer", "uvicorn", "yaml",
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
    module = answers["module_name"]
    if not module.isidentifier() or not module.isascii():
        found.append(f"module_name {module!r} is invalid: it must be a Python identifier")
    elif keyword.iskeyword(module) or keyword.issoftkeyword(module):
        found.append(f"module_name {module!r} is invalid: it is a Python keyword")
    elif module in sys.stdlib_module_names:
        found.append(
            f"module_name {module!r} is invalid: it shadows the standard library module"
        )
    elif module in DEPENDENCIES:
        found.append(f"module_name {module!r} is invalid: it shadows a dependency")
    email = answers["author_email"]
    if not EMAIL.fullmatch(email):
        found.append(
            f"author_email {email!r} is invalid: it needs a name, an @ and a domain"
            " with a dot"
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
    for message in found:
        print(f"error: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
