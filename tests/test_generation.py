"""How a project comes into the world: its git repository, and generation by cruft."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from baking import BIN, TEMPLATE, BakedProject, bake, tool_env


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


# The first released version (CHANGELOG.md): projects made from it must update cleanly.
FIRST_RELEASE = "a4a7d89"


def has_commit(commit: str) -> bool:
    found = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=TEMPLATE, check=False
    )
    return found.returncode == 0


@pytest.mark.slow
def test_a_project_made_at_the_first_release_updates_to_head_keeping_its_edits(
    tmp_path: Path,
) -> None:
    if not has_commit(FIRST_RELEASE):
        reason = f"this clone lacks {FIRST_RELEASE} (a shallow clone): clone with history"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=TEMPLATE, capture_output=True, text=True
    ).stdout.strip()
    cruft = str(BIN / "cruft")
    create = [cruft, "create", "--no-input", "--checkout", FIRST_RELEASE]
    created = subprocess.run(
        [*create, "--output-dir", str(tmp_path), str(TEMPLATE)],
        capture_output=True,
        text=True,
        env=tool_env(),
        check=False,
    )
    assert created.returncode == 0, created.stderr
    project = BakedProject(tmp_path / "my-ml-project", {})
    # What a team does in its first weeks: install and commit the lock, tune a
    # parameter, edit the data module, add a test of its own.
    project.run("make", "install")
    params = project.path / "configs" / "params.yaml"
    # Far from the estimator block this change rewrites: a hunk's context must match.
    tuned = params.read_text().replace("  window: 1000\n", "  window: 2000\n")
    assert tuned != params.read_text()
    params.write_text(tuned)
    dataset = next((project.path / "src").glob("*/dataset.py"))
    edited = dataset.read_text() + "\n\n# Our own note on the data.\n"
    dataset.write_text(edited)
    ours = project.path / "tests" / "test_ours.py"
    ours.write_text("def test_ours() -> None:\n    assert sum([1, 2]) == 3\n")
    project.run("git", "add", "--all")
    # 1.0.0's secret scanner took the commit id in .cruft.json for a secret.
    project.run("git", "commit", "--quiet", "--no-verify", "-m", "Our first weeks")

    project.run(cruft, "update", "--skip-apply-ask", "--checkout", head)

    assert sorted(project.path.rglob("*.rej")) == []
    # Both files changed upstream too (params.yaml's estimator block, the data set's
    # declaration): the team's edits are merged into the new versions.
    assert "  window: 2000\n" in params.read_text()
    assert "estimator:" in params.read_text()
    assert dataset.read_text().endswith("# Our own note on the data.\n")
    assert "class Features" in dataset.read_text()
    assert ours.is_file()
    assert json.loads(project.read(".cruft.json"))["commit"] == head
    # The CHANGELOG's actions for this update: re-lock (uv.lock is installed --locked
    # now, and the dependencies changed), then install.
    project.run("uv", "lock")
    project.run("make", "install")
    checked = project.run("make", "check")
    assert " passed" in checked and " failed" not in checked
    # The updated git hooks accept the update as the team commits it.
    project.run("git", "add", "--all")
    project.run("git", "commit", "--quiet", "-m", "Update from the template")
