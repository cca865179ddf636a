"""Drop the files the chosen options do not use, then start a git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

LICENSE = {{ cookiecutter.license | tojson }}
LINTER = {{ cookiecutter.linter | tojson }}

# Paths that exist only for some answers: path -> whether this project keeps it.
OPTIONAL_PATHS = {
    "LICENSE": LICENSE != "Proprietary",
    ".flake8": LINTER == "flake8+black",
}


def remove_unused(root: Path) -> None:
    for relative, keep in OPTIONAL_PATHS.items():
        path = root / relative
        if keep:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def init_git(root: Path) -> None:
    """Make the project a git repository unless it already sits inside one.

    pre-commit needs a repository; nesting one inside a user's monorepo would surprise
    them, and a machine without git still gets a working project.
    """
    git = shutil.which("git")
    if git is None:
        return
    inside = subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if inside.returncode != 0:
        subprocess.run([git, "init", "--quiet", "--initial-branch=main"], cwd=root, check=False)


if __name__ == "__main__":
    project = Path.cwd()
    remove_unused(project)
    init_git(project)
