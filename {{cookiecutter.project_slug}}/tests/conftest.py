from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.params import Params, load_params
from {{ cookiecutter.module_name }}.settings import ENV_PREFIX, Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that keep every pipeline file inside the test's own folder."""
    return Settings(
        data_dir=tmp_path / "data",
        models_dir=tmp_path / "models",
        reports_dir=tmp_path / "reports",
        params_file=PROJECT_ROOT / "configs" / "params.yaml",
    )


@pytest.fixture
def params(settings: Settings) -> Params:
    """The parameters the project ships with."""
    return load_params(settings.params_file)


@pytest.fixture
def isolated_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the environment at the test folder, as a user's .env would."""
    for name in ("data_dir", "models_dir", "reports_dir", "params_file"):
        value = str(getattr(settings, name))
        monkeypatch.setenv(f"{ENV_PREFIX}{name.upper()}", value)
    monkeypatch.chdir(settings.data_dir.parent)
    return settings
