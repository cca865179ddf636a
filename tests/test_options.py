"""What each answer generates: the exact file set, rendered and parseable."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from baking import CHOICES, COMBINATIONS, OPTIONS, QUESTIONS, TEMPLATE, BakedProject

# `${{` is a GitHub expression and `{{.` a Go template (docker inspect); Jinja is neither.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{(?!\.)|\{%|\{#|cookiecutter\.")

SOURCE = [
    "__init__.py",
    "__main__.py",
    "card.py",
    "checks.py",
    "cli.py",
    "dataset.py",
    "errors.py",
    "files.py",
    "model.py",
    "monitoring/__init__.py",
    "monitoring/drift.py",
    "monitoring/page.py",
    "monitoring/report.py",
    "monitoring/snapshot.py",
    "params.py",
    "predictor.py",
    "promotion.py",
    "py.typed",
    "scoring.py",
    "settings.py",
    "speed.py",
    "store/__init__.py",
    "store/contract.py",
    "store/groups.py",
    "store/keys.py",
    "store/memory.py",
    "store/migration.py",
    "store/records.py",
    "store/redis_store.py",
    "store/writer.py",
    "tracking.py",
    "pipeline/__init__.py",
    "pipeline/evaluate.py",
    "pipeline/ingest.py",
    "pipeline/prepare.py",
    "pipeline/runner.py",
    "pipeline/tables.py",
    "pipeline/train.py",
    "serving/__init__.py",
    "serving/recorder.py",
    "serving/refresh.py",
    "serving/app.py",
    "serving/deps.py",
    "serving/limits.py",
    "serving/metrics.py",
    "serving/predictions.py",
    "serving/routes.py",
    "serving/schemas.py",
]
TESTS = [
    "conftest.py",
    "derived.py",
    "servers.py",
    "test_recorder.py",
    "test_api.py",
    "test_cli.py",
    "test_feedback_and_metrics.py",
    "test_files.py",
    "test_full_redis.py",
    "test_fuzz.py",
    "test_hardening.py",
    "test_monitoring.py",
    "test_observability.py",
    "test_params.py",
    "test_pipeline.py",
    "test_predictions.py",
    "test_predictor.py",
    "test_promotion.py",
    "test_runner.py",
    "test_scoring.py",
    "test_server.py",
    "test_settings.py",
    "test_startup.py",
    "test_steps.py",
    "test_store.py",
    "test_store_migration.py",
    "test_suite.py",
]
ALWAYS = [
    ".dockerignore",
    ".env.example",
    ".github/actions/setup/action.yml",
    ".github/dependabot.yml",
    ".github/pull_request_template.md",
    ".github/workflows/ci.yml",
    ".github/workflows/release.yml",
    ".github/workflows/template-update.yml",
    ".secrets.baseline",
    "CONTRIBUTING.md",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "Makefile",
    "README.md",
    "Dockerfile",
    "compose.yaml",
    "pyproject.toml",
    "benchmarks/bare.py",
    "benchmarks/startup.py",
    "benchmarks/pieces.py",
    "benchmarks/scoring.py",
    "benchmarks/serving.py",
    "configs/params.yaml",
    "deploy/kubernetes/README.md",
    "deploy/kubernetes/configmap.yaml",
    "deploy/kubernetes/deployment.yaml",
    "deploy/kubernetes/hpa.yaml",
    "deploy/kubernetes/networkpolicy.yaml",
    "deploy/kubernetes/pdb.yaml",
    "deploy/kubernetes/service.yaml",
    "deploy/kubernetes/jobs/score.yaml",
    "deploy/monitoring/alerts.daily.test.yml",
    "deploy/monitoring/alerts.test.yml",
    "deploy/monitoring/alerts.yml",
    "deploy/monitoring/grafana/dashboard.json",
    "deploy/monitoring/grafana/dashboards.yml",
    "deploy/monitoring/grafana/datasources.yml",
    "deploy/monitoring/prometheus.yml",
    "deploy/monitoring/runbooks.md",
    "loadtest/locustfile.py",
    "data/processed/.gitkeep",
    "data/raw/.gitkeep",
    "models/.gitkeep",
    "reports/.gitkeep",
]


def expected_files(project: BakedProject) -> set[str]:
    """The spec: every file and folder a project with these answers must contain."""
    module = project.path.name.replace("-", "_")
    files = set(ALWAYS)
    files |= {f"src/{module}/{name}" for name in SOURCE}
    files |= {f"tests/{name}" for name in TESTS}
    if project.option("license") != "Proprietary":
        files.add("LICENSE")
    if project.option("linter") == "flake8+black":
        files.add(".flake8")
    if project.option("experiment_tracking") == "mlflow":
        files |= {
            "tests/test_tracking.py",
            "deploy/mlflow/Dockerfile",
            "deploy/kubernetes/jobs/retrain.yaml",
        }
    if project.option("orchestrator") == "airflow":
        files |= {
            f"dags/{module}_pipeline.py",
            "dags/tests/test_dag.py",
            "deploy/kubernetes/airflow/pvc.yaml",
        }
    folders = {str(parent) for name in files for parent in _parents(name)}
    return files | folders


def _parents(relative: str) -> list[str]:
    parts = relative.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def test_the_combinations_cover_every_choice() -> None:
    for name, choices in CHOICES.items():
        used = {answers.get(name, choices[0]) for answers in COMBINATIONS.values()}
        assert used == set(choices), f"{name}: no combination uses {set(choices) - used}"


def test_every_question_has_a_help_text() -> None:
    assert set(OPTIONS["__prompts__"]) == set(QUESTIONS)


def test_the_python_question_lists_the_supported_versions() -> None:
    versions = CHOICES["python_version"]
    listed = f"{', '.join(versions[:-1])} or {versions[-1]}"

    assert OPTIONS["__prompts__"]["python_version"].endswith(f": {listed}")


def test_the_exact_file_set(baked: BakedProject) -> None:
    assert baked.files() == expected_files(baked)


def test_no_template_syntax_is_left(baked: BakedProject) -> None:
    leftovers = [
        f"{path.relative_to(baked.path)}:{number}: {line.strip()}"
        for path in baked.path.rglob("*")
        if path.is_file() and ".git" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LEFTOVER_JINJA.search(line)
    ]
    assert leftovers == []


def test_every_data_file_parses(baked: BakedProject) -> None:
    parsers: dict[str, Callable[[str], Any]] = {
        ".toml": tomllib.loads,
        ".yaml": yaml.safe_load,
        ".yml": yaml.safe_load,
        ".json": json.loads,
    }
    checked = 0
    for path in baked.path.rglob("*"):
        parse = parsers.get(path.suffix)
        if parse and ".git" not in path.parts:
            parse(path.read_text(encoding="utf-8"))
            checked += 1
    assert checked >= 3  # pyproject.toml, params.yaml, .pre-commit-config.yaml


def test_pyproject_follows_the_answers(baked: BakedProject) -> None:
    pyproject = tomllib.loads(baked.read("pyproject.toml"))
    project = pyproject["project"]
    slug, module = baked.path.name, baked.path.name.replace("-", "_")

    assert project["name"] == slug
    assert project["requires-python"] == f">={baked.option('python_version')}"
    assert project["scripts"] == {slug: f"{module}.cli:app"}
    assert project["description"] == baked.option("description")
    assert project["authors"] == [
        {"name": baked.option("author_name"), "email": baked.option("author_email")}
    ]
    assert pyproject["tool"]["mypy"]["strict"] is True

    dependencies = " ".join(project["dependencies"])
    assert ("mlflow" in dependencies) == (baked.option("experiment_tracking") == "mlflow")

    dev = " ".join(pyproject["dependency-groups"]["dev"])
    uses_ruff = baked.option("linter") == "ruff"
    assert ("ruff" in dev) == uses_ruff
    assert ("black" in dev) == ("flake8" in dev) == (not uses_ruff)
    assert ("ruff" in pyproject["tool"]) == uses_ruff
    assert ("black" in pyproject["tool"]) == (not uses_ruff)


def test_license_matches_the_answer(baked: BakedProject) -> None:
    chosen = baked.option("license")
    pyproject = tomllib.loads(baked.read("pyproject.toml"))["project"]
    if chosen == "Proprietary":
        assert pyproject["license"] == "LicenseRef-Proprietary"
        return
    assert pyproject["license"] == chosen
    first_line = baked.read("LICENSE").strip().splitlines()[0].strip()
    assert (
        first_line
        == {
            "MIT": "MIT License",
            "BSD-3-Clause": "BSD 3-Clause License",
            "Apache-2.0": "Apache License",
        }[chosen]
    )
    assert baked.option("author_name") in baked.read("LICENSE")


def test_the_makefile_documents_one_target_per_job(baked: BakedProject) -> None:
    listed = baked.run("make", "help")

    targets = re.findall(r"^  (\S+) +\S", listed, re.MULTILINE)
    for option, value, target in [
        ("experiment_tracking", "mlflow", "mlflow-ui"),
        ("orchestrator", "airflow", "airflow-test"),
    ]:
        assert (target in targets) == (baked.option(option) == value), target
        if target in targets:
            targets.remove(target)
    assert targets == [
        "help",
        "install",
        "format",
        "format-check",
        "lint",
        "typecheck",
        "test",
        "check",
        "pre-commit",
        "audit",
        "pipeline",
        "serve",
        "monitor",
        "retrain",
        "loadtest",
        "benchmark",
        "docker",
        "docker-smoke",
        "release",
        "template-update",
        "clean",
    ]
    makefile = baked.read("Makefile")
    assert ("uv sync" in makefile) == (baked.option("package_manager") == "uv")
    assert ("-m pip install" in makefile) == (baked.option("package_manager") == "pip")


def test_pre_commit_needs_no_network_clone(baked: BakedProject) -> None:
    config = yaml.safe_load(baked.read(".pre-commit-config.yaml"))

    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    entries = {hook["id"]: hook["entry"] for hook in config["repos"][0]["hooks"]}
    assert entries["lint"] == "make lint"
    assert entries["typecheck"] == "make typecheck"
    assert entries["format-check"] == "make format-check"


def test_python_version_is_pinned_everywhere(baked: BakedProject) -> None:
    version = baked.option("python_version")
    tool = tomllib.loads(baked.read("pyproject.toml"))["tool"]

    assert baked.read(".python-version").strip() == version
    assert tool["mypy"]["python_version"] == version
    target = "py" + version.replace(".", "")
    linter = tool["ruff"]["target-version"] if "ruff" in tool else tool["black"]["target-version"]
    assert target in linter


def test_the_project_is_a_git_repository(baked: BakedProject) -> None:
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=baked.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert inside.stdout.strip() == "true"


@pytest.mark.parametrize("other", ["ruff", "black", "flake8"])
def test_readme_names_only_the_chosen_linter(baked: BakedProject, other: str) -> None:
    chosen = baked.option("linter")
    readme = baked.read("README.md")
    assert (other in readme) == (other in chosen)


def test_no_tracking_means_no_mlflow_anywhere(baked: BakedProject) -> None:
    tracked = baked.option("experiment_tracking") == "mlflow"
    mentions = [
        str(path.relative_to(baked.path))
        for path in baked.path.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and "mlflow" in path.read_text(encoding="utf-8").lower()
    ]
    if tracked:
        assert "pyproject.toml" in mentions and "Makefile" in mentions
    else:
        assert mentions == []


def test_the_readme_lists_every_question_with_its_choices() -> None:
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    rows = [row for row in readme.splitlines() if row.startswith("| `")]

    for name in QUESTIONS:
        [row] = [row for row in rows if f"`{name}`" in row]
        assert all(choice in row for choice in CHOICES.get(name, [])), row
