"""Where things live and how the project behaves, read from the environment.

Every setting is read from an environment variable named ENV_PREFIX (the package name
in capitals, then `_`) followed by the setting's name in capitals, or from a `.env`
file: `.env.example` lists them all. The Redis address is also read from the
conventional REDIS_URL. A bad value stops the command with one line naming the variable.
"""

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import SettingsConfigDict

from . import ENV_PREFIX, dataset
from .errors import ProjectError, first_problem
from .tracking import TrackingSettings

# Shorter keys can be guessed; an empty one would switch authentication off unseen.
MIN_API_KEY_LENGTH = 16
DAY_SECONDS = 86_400
THIRTY_DAYS = 30 * DAY_SECONDS
# Groups of predictions that `make monitor` can read back, the most recent first: an
# index entry costs Redis about 120 bytes (12 MB at this size, measured).
INDEX_SIZE = 100_000


class Settings(TrackingSettings):
    """Every setting of the project; tracking's own are declared in tracking.py."""

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
    # What the server logs per request: a JSON line with a request id that the
    # response returns as X-Request-ID (serving/recorder.py), or nothing.
    access_log: Literal["json", "off"] = "json"

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # What slow clients can hold (serving/limits.py): open connections per worker
    # (uvicorn answers 503 beyond them), requests still receiving their body (503
    # beyond, but never to /health), the time a request body may take to arrive (then
    # 408), and how long an idle connection is kept open between requests.
    # Connections that slow senders cannot take stay free for probes and fast clients.
    max_connections: int = Field(default=1000, ge=1)
    max_incomplete_requests: int = Field(default=500, ge=1)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    keep_alive_seconds: int = Field(default=5, ge=1)
    # When set, every endpoint but /health and /docs needs `Authorization: Bearer KEY`.
    # Several keys, separated by commas, are each accepted: to rotate a key, add the
    # new one, move the clients to it, then remove the old one.
    api_key: SecretStr | None = None
    # Let anyone who reaches the server read /metrics, even with an API key set (for a
    # Prometheus that scrapes from inside the same private network).
    metrics_public: bool = False

    # Where predictions are stored: Redis when a URL is set, else a bounded dict in
    # the server's memory (one server process only).
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", f"{ENV_PREFIX}REDIS_URL"),
    )
    # REDIS_URL names one node of a Redis Cluster, as a managed Redis often is: the
    # client finds the others and follows the slots. Compatibility, not scale: a
    # server's keys share one hash tag, so they live in one slot, on one node.
    redis_cluster: bool = False
    # The longest a request waits for Redis before answering without it.
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    # Stored predictions expire after this long. Every key in Redis expires, so that
    # Redis can evict the oldest predictions when its memory is full.
    prediction_ttl_seconds: int = Field(default=THIRTY_DAYS, gt=0)
    # The most recent groups of predictions that `make monitor` can read from Redis.
    store_index_size: int = Field(default=INDEX_SIZE, ge=1)
    memory_store_size: int = Field(default=10_000, ge=1)
    # Predictions kept in memory while Redis is unreachable, written when it is back.
    store_backlog_size: int = Field(default=10_000, ge=0)
    # At shutdown, how long the server keeps trying to write that backlog.
    store_drain_seconds: float = Field(default=5.0, ge=0)

    @field_validator("api_key")
    @classmethod
    def keys_are_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(
            len(key) < MIN_API_KEY_LENGTH for key in split_keys(value)
        ):
            raise PydanticCustomError(
                "short_key",
                f"every key needs at least {MIN_API_KEY_LENGTH} characters (unset it"
                " to serve without a key)",
            )
        return value

    @property
    def api_keys(self) -> list[str]:
        """The accepted API keys; none when no key is set."""
        return [] if self.api_key is None else split_keys(self.api_key)

    @classmethod
    def variables(cls) -> set[str]:
        """Return every environment variable that a setting is read from."""
        names = set()
        for name, field in cls.model_fields.items():
            names.add(f"{ENV_PREFIX}{name.upper()}")
            if isinstance(field.validation_alias, AliasChoices):
                names.update(str(choice) for choice in field.validation_alias.choices)
        return names

    @property
    def raw_data_file(self) -> Path:
        return self.data_dir / "raw" / f"{dataset.NAME}.csv"

    @property
    def feedback_file(self) -> Path:
        """Stored predictions with their true label (`snapshot`), which ingest adds."""
        return self.data_dir / "feedback" / f"{dataset.NAME}.csv"

    @property
    def train_file(self) -> Path:
        return self.data_dir / "processed" / "train.csv"

    @property
    def test_file(self) -> Path:
        return self.data_dir / "processed" / "test.csv"

    @property
    def candidate_file(self) -> Path:
        """The model train wrote last (the challenger), before evaluate's gate."""
        return self.models_dir / "candidate.joblib"

    @property
    def candidate_onnx_file(self) -> Path:
        return self.models_dir / "candidate.onnx"

    @property
    def model_file(self) -> Path:
        """The model that serves (the champion)."""
        return self.models_dir / "model.joblib"

    @property
    def onnx_file(self) -> Path:
        return self.models_dir / "model.onnx"

    @property
    def metrics_file(self) -> Path:
        return self.reports_dir / "metrics.json"

    @property
    def model_card_file(self) -> Path:
        return self.reports_dir / "model_card.md"

    @property
    def onnx_parity_file(self) -> Path:
        return self.reports_dir / "onnx_parity.json"

    @property
    def promotion_file(self) -> Path:
        return self.reports_dir / "promotion.json"

    @property
    def monitoring_file(self) -> Path:
        return self.reports_dir / "monitoring.json"

    @property
    def monitoring_page(self) -> Path:
        return self.reports_dir / "monitoring.html"


def split_keys(value: SecretStr) -> list[str]:
    return [key.strip() for key in value.get_secret_value().split(",")]


def load_settings() -> Settings:
    """Read the settings; raise ProjectError naming the variable that is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        field, message = first_problem(error)
        raise ProjectError(f"{ENV_PREFIX}{field.upper()}: {message}") from None
