"""Put each answer's variant files in place, drop unused files, start a git repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

# Rendered by cookiecutter before it runs. tojson escapes quotes as \u0027, so the raw
# string holds valid JSON and the file stays valid Python before rendering too.
ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | tojson }}""")

# `_variants/OPTION=VALUE/` holds the files that differ for that answer, at the paths
# they replace: a project gets the variants of its answers, and none of the folder.
VARIANTS = "_variants"

# Paths that exist only for some answers: path -> whether this project keeps it.
MODULE = ANSWERS["module_name"]
TRACKING = ANSWERS["experiment_tracking"] == "mlflow"
OPTIONAL_PATHS = {
    "LICENSE": ANSWERS["license"] != "Proprietary",
    ".flake8": ANSWERS["linter"] == "flake8+black",
    "tests/test_tracking.py": TRACKING,
    # The shared registry's server image, and retraining against that registry.
    "deploy/mlflow": TRACKING,
    "deploy/kubernetes/jobs/retrain.yaml": TRACKING,
    "dags": ANSWERS["orchestrator"] == "airflow",
    # The disk the DAG's task pods share on Kubernetes.
    "deploy/kubernetes/airflow": ANSWERS["orchestrator"] == "airflow",
}


def apply_variants(root: Path) -> None:
    folder = root / VARIANTS
    for variant in sorted(folder.iterdir()):
        option, _, value = variant.name.partition("=")
        if ANSWERS[option] == value:
            shutil.copytree(variant, root, dirs_exist_ok=True)
    shutil.rmtree(folder)


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
    """Make the project a git repository unless a repository around it tracks it.

    pre-commit needs a repository of its own; nesting one inside a user's monorepo would
    surprise them (unless that repository ignores the folder, as a `build/` folder is),
    and a machine without git still gets a working project.
    """
    git = shutil.which("git")
    if git is None:
        return

    def succeeds(*arguments: str) -> bool:
        done = subprocess.run([git, *arguments], cwd=root, capture_output=True, check=False)
        return done.returncode == 0

    if succeeds("rev-parse", "--is-inside-work-tree") and not succeeds("check-ignore", "-q", "."):
        return
    subprocess.run([git, "init", "--quiet", "--initial-branch=main"], cwd=root, check=False)


if __name__ == "__main__":
    project = Path.cwd()
    apply_variants(project)
    remove_unused(project)
    init_git(project)
