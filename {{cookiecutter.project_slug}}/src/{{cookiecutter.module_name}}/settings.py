"""Where things live and how the project behaves, read from the environment.

Every setting can be given as an environment variable prefixed with
`{{ cookiecutter.module_name | upper }}_` (for example
`{{ cookiecutter.module_name | upper }}_DATA_DIR`) or in a `.env` file; see
`.env.example`. The Redis address is also read from the conventional `REDIS_URL`.
"""

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ProjectError, first_problem

ENV_PREFIX = "{{ cookiecutter.module_name | upper }}_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Path("data")
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
    params_file: Path = Path("configs/params.yaml")
    lock_file: Path = Path("pipeline.lock")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
{%- if cookiecutter.experiment_tracking == "mlflow" %}

    # Experiment tracking; MLFLOW_TRACKING_URI is MLflow's own variable.
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        validation_alias=AliasChoices(
            "MLFLOW_TRACKING_URI", f"{ENV_PREFIX}MLFLOW_TRACKING_URI"
        ),
    )
    mlflow_artifacts_dir: Path = Path("mlartifacts")
    # Serve this registered model (for example models:/NAME@champion), not the file.
    model_uri: str | None = None
{%- endif %}

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Without a Redis URL, predictions are kept in a bounded in-process store.
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", f"{ENV_PREFIX}REDIS_URL"),
    )
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    prediction_ttl_seconds: int | None = Field(default=None, ge=1)
    memory_store_size: int = Field(default=10_000, ge=1)
    # Predictions kept in memory while Redis is unreachable, sent when it is back.
    store_backlog_size: int = Field(default=10_000, ge=0)

    @property
    def raw_data_file(self) -> Path:
        return self.data_dir / "raw" / "iris.csv"

    @property
    def train_file(self) -> Path:
        return self.data_dir / "processed" / "train.csv"

    @property
    def test_file(self) -> Path:
        return self.data_dir / "processed" / "test.csv"

    @property
    def model_file(self) -> Path:
        return self.models_dir / "model.joblib"

    @property
    def metrics_file(self) -> Path:
        return self.reports_dir / "metrics.json"

    @property
    def model_card_file(self) -> Path:
        return self.reports_dir / "model_card.md"


def load_settings() -> Settings:
    """Read the settings; raise ProjectError naming the variable that is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        field, message = first_problem(error)
        raise ProjectError(f"{ENV_PREFIX}{field.upper()}: {message}") from None
