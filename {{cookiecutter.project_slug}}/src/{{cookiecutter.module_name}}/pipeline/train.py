"""Train: fit the model on the training set and save it to `models/`."""

from datetime import UTC, datetime
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..dataset import FEATURES, TARGET
from ..files import read_table
from ..model import TrainedModel
from ..params import Params, TrainParams
from ..settings import Settings
{%- if cookiecutter.experiment_tracking == "mlflow" %}
from ..tracking import log_training
{%- endif %}


def train(
    train_file: Path, model_file: Path, params: TrainParams, seed: int
) -> TrainedModel:
    """Fit a scaled logistic regression; swap in your own estimator here."""
    frame = read_table(train_file, [*FEATURES, TARGET])
    estimator = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=params.C, max_iter=params.max_iter, random_state=seed),
    )
    # Fitted on a plain matrix: serving then predicts without building a DataFrame.
    estimator.fit(frame[list(FEATURES)].to_numpy(), frame[TARGET])
    model = TrainedModel(
        estimator=estimator,
        features=FEATURES,
        classes=tuple(str(label) for label in estimator.classes_),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        params={"seed": seed, **params.model_dump()},
    )
    model.save(model_file)
    return model


PARAMS: tuple[str, ...] = ("seed", "train")


def inputs(settings: Settings) -> list[Path]:
    return [settings.train_file]


def outputs(settings: Settings) -> list[Path]:
    return [settings.model_file]


def run(settings: Settings, params: Params) -> str:
{%- if cookiecutter.experiment_tracking == "mlflow" %}
    model = train(settings.train_file, settings.model_file, params.train, params.seed)
    # Saved again with the MLflow run id, which evaluate logs its metrics into.
    log_training(model, settings).save(settings.model_file)
{%- else %}
    train(settings.train_file, settings.model_file, params.train, params.seed)
{%- endif %}
    return f"wrote {settings.model_file}"
