from __future__ import annotations

from pathlib import Path

import pytest

from baking import BakedProject, bake

# Named option sets. Together they give every choice of every option at least once
# (test_options.py checks that), and they exercise answers that need escaping.
COMBINATIONS: dict[str, dict[str, str]] = {
    "defaults": {},
    "ruff-airflow": {
        "python_version": "3.12",
        "license": "BSD-3-Clause",
        "linter": "ruff",
        "experiment_tracking": "none",
        "orchestrator": "airflow",
    },
    "pip-apache": {
        "python_version": "3.13",
        "license": "Apache-2.0",
        "package_manager": "pip",
        "experiment_tracking": "none",
    },
    "proprietary-quoted": {
        "project_name": 'Zoë\'s "Fraud" Scoring',
        "description": 'Scores "risky" payments: <fast> & {simple}',
        "author_name": 'O\'Brien "Ana" \\ Co',
        "license": "Proprietary",
        "package_manager": "pip",
        "linter": "ruff",
        "orchestrator": "airflow",
    },
}


@pytest.fixture(scope="session", params=sorted(COMBINATIONS))
def baked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BakedProject:
    """One project per named option set, baked once for the whole session."""
    return bake(tmp_path_factory.mktemp(request.param), **COMBINATIONS[request.param])


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path
