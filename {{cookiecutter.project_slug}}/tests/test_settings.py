from pathlib import Path

import pytest

from {{ cookiecutter.module_name }} import ENV_PREFIX, dataset
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.settings import Settings, load_settings


def test_defaults_follow_the_project_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # away from any .env file
    settings = Settings()

    assert settings.raw_data_file == Path("data/raw") / f"{dataset.NAME}.csv"
    assert settings.model_file == Path("models/model.joblib")
    assert settings.metrics_file == Path("reports/metrics.json")


def test_environment_variables_override_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}MODELS_DIR", str(tmp_path))

    assert Settings().model_file == tmp_path / "model.joblib"


def test_a_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"{ENV_PREFIX}LOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)

    assert Settings().log_level == "DEBUG"


def test_a_bad_log_level_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}LOG_LEVEL", "LOUD")

    with pytest.raises(ProjectError, match=f"^{ENV_PREFIX}LOG_LEVEL: Input should be"):
        load_settings()


def test_predictions_cannot_be_kept_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every key in Redis expires, so that Redis can evict the oldest when it is full.
    monkeypatch.setenv(f"{ENV_PREFIX}PREDICTION_TTL_SECONDS", "0")

    with pytest.raises(
        ProjectError,
        match=f"^{ENV_PREFIX}PREDICTION_TTL_SECONDS: Input should be greater than 0",
    ):
        load_settings()
