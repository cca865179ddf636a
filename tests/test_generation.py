"""How a project comes into the world: its git repository, and generation by cruft."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from baking import BIN, TEMPLATE, bake, tool_env


def git(cwd: Path, *arguments: str) -> None:
    subprocess.run(["git", *arguments], cwd=cwd, check=True, capture_output=True)


def test_a_project_baked_alone_gets_its_own_repository(output_dir: Path) -> None:
    project = bake(output_dir)

    assert (project.path / ".git").is_dir()


def test_a_project_baked_inside_a_repository_does_not_nest_one(output_dir: Path) -> None:
    git(output_dir, "init", "--quiet")

    project = bake(output_dir)

    assert not (project.path / ".git").exists()


def test_a_project_baked_into_an_ignored_folder_gets_its_own(output_dir: Path) -> None:
    git(output_dir, "init", "--quiet")
    (output_dir / ".gitignore").write_text("build/\n")
    (output_dir / "build").mkdir()

    project = bake(output_dir / "build")

    assert (project.path / ".git").is_dir()


def test_cruft_creates_a_project_it_can_later_update(tmp_path: Path) -> None:
    # cruft clones the template with git, so this bakes the last commit of the template.
    done = subprocess.run(
        [BIN / "cruft", "create", "--no-input", "--output-dir", tmp_path, TEMPLATE],
        capture_output=True,
        text=True,
        env=tool_env(),
        check=False,
    )

    assert done.returncode == 0, done.stderr
    project = tmp_path / "my-ml-project"
    assert (project / "Makefile").is_file()
    record = json.loads((project / ".cruft.json").read_text())
    assert record["context"]["cookiecutter"]["project_slug"] == "my-ml-project"
    assert len(record["commit"]) == 40
