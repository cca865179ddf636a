"""Lint the template's Python as it is generated: `make lint` runs this.

The template's `.py` files hold `{{ cookiecutter.* }}` names, so they are not Python
until rendered. They hold no Jinja control blocks either (test_template.py checks), so a
rendered file keeps the template file's line numbers: this script bakes the named option
sets, runs black and flake8 on the baked Python with the generated project's own
settings (ruff too, for the bakes that choose it), and reports each problem at its
place in the template. mypy runs on the installed bakes, in the slow tests (`make check`
of each generated project).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from baking import BIN, COMBINATIONS, TEMPLATE, BakedProject, bake

SOURCE = TEMPLATE / "{{cookiecutter.project_slug}}"
# Generated code must stay formatted whatever the length of the names rendered into it.
LONGEST_NAME = {"project_name": "Customer Lifetime Value Forecasting Tool"}


def template_path(project: BakedProject, baked: Path) -> Path:
    """The template file that `baked` was rendered from: the variant of an answer's."""
    relative = baked.relative_to(project.path).as_posix()
    relative = relative.replace(f"src/{project.module}/", "src/{{cookiecutter.module_name}}/")
    dag = "dags/{{cookiecutter.module_name}}_pipeline.py"
    relative = re.sub(r"^dags/\w+_pipeline\.py$", dag, relative)
    for variant in SOURCE.glob(f"_variants/*/{relative}"):
        option, _, value = variant.relative_to(SOURCE / "_variants").parts[0].partition("=")
        if project.option(option) == value:
            return variant
    return SOURCE / relative


def lint(project: BakedProject) -> list[str]:
    files = [str(p) for p in sorted(project.path.rglob("*.py")) if ".git" not in p.parts]
    problems = []
    checks = [
        [str(BIN / "black"), "--check", "--quiet", "--line-length", "88", *files],
        [str(BIN / "flake8"), "--config", str(SOURCE / ".flake8"), *files],
    ]
    if project.option("linter") == "ruff":  # its rules, from the baked pyproject.toml
        checks.append([str(BIN / "ruff"), "check", "--no-cache", "--output-format=concise", *files])
    for command in checks:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        for line in (done.stdout + done.stderr).splitlines():
            if line.startswith("would reformat "):
                line = f"{line.removeprefix('would reformat ')}: not formatted as black would"
            elif not line.startswith(str(project.path)):
                continue  # black's summary
            path, _, problem = line.partition(":")
            where = template_path(project, Path(path)).relative_to(TEMPLATE)
            problems.append(f"{where}:{problem}")
    return problems


def main() -> int:
    problems: set[str] = set()
    with tempfile.TemporaryDirectory() as folder:
        for name, answers in {**COMBINATIONS, "longest-name": LONGEST_NAME}.items():
            problems.update(lint(bake(Path(folder) / name, **answers)))
    for problem in sorted(problems):
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
