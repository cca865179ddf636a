"""The command line: run pipeline steps, make predictions, serve the model.

Each command imports what it needs when it runs: `--help` and an up-to-date pipeline
never pay for importing scikit-learn, pandas, FastAPI or the experiment tracker.
"""

import functools
import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from . import DISTRIBUTION, ENV_PREFIX, SUMMARY
from .errors import ProjectError
from .pipeline import STEPS, Step

log = logging.getLogger(__name__)

app = typer.Typer(
    name=DISTRIBUTION,
    help=SUMMARY,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: formatting it with rich takes longer than the rest of `--help`.
    rich_markup_mode=None,
)

P = ParamSpec("P")
R = TypeVar("R")


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a ProjectError into `error: ...` on stderr and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ProjectError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from None

    return run


def run_steps(steps: Sequence[Step], force: bool, start: str | None = None) -> None:
    from .params import load_params
    from .pipeline import runner
    from .settings import load_settings

    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(message)s")
    params = load_params(settings.params_file)
    for done in runner.run(settings, params, steps, force=force, start=start):
        log.info("%s%s: %s", "" if done.ran else "skipped ", done.step, done.summary)


def step_command(step: Step) -> Callable[[], None]:
    def command() -> None:
        run_steps([step], force=True)

    return one_line_errors(command)


for _step in STEPS:
    app.command(name=_step.name, help=_step.summary)(step_command(_step))


@app.command()
@one_line_errors
def pipeline(
    force: Annotated[
        bool, typer.Option(help="Run every step, even if up to date")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Run this step and every one after it"),
    ] = None,
) -> None:
    """Run ingest, prepare, train, evaluate; skip the steps that are up to date."""
    run_steps(STEPS, force=force, start=start)


@app.command()
@one_line_errors
def predict(
    features: Annotated[
        list[str],
        typer.Argument(
            help="Feature values as NAME=VALUE, one for each feature of dataset.py",
            show_default=False,
        ),
    ],
) -> None:
    """Predict one row with the trained model and print the result as JSON."""
    from pydantic import TypeAdapter, ValidationError

    from . import dataset
    from .errors import first_problem
    from .predictor import Predictor
    from .settings import load_settings

    row = parse_features(features, dataset.FEATURES)
    try:
        # The rules the API applies: the data module's declared ranges.
        TypeAdapter(dataset.Features).validate_python(row)
    except ValidationError as error:
        field, message = first_problem(error)
        raise ProjectError(f"{field}: {message}") from None
    predictor = Predictor.load(load_settings())
    [label], [probabilities] = predictor.predict([row])
    answer = {
        "label": label,
        "probabilities": probabilities,
        "model_version": predictor.version,
    }
    typer.echo(json.dumps(answer))


@app.command()
@one_line_errors
def score(
    source: Annotated[
        str, typer.Argument(help="A Parquet file: a path, or s3://bucket/key")
    ],
    target: Annotated[
        str, typer.Argument(help="Where to write the predictions, as Parquet")
    ],
    shard: Annotated[
        str,
        typer.Option(help="I/N: score only the I-th (from 0) of N parts of the file"),
    ] = "0/1",
) -> None:
    """Predict every row of a Parquet file, one row group at a time, and write the
    input columns with the label and each class's probability."""
    from .predictor import Predictor
    from .scoring import Shard
    from .scoring import score as write_scores
    from .settings import load_settings

    parts = Shard.parse(shard)
    predictor = Predictor.load(load_settings())
    typer.echo(write_scores(predictor, source, target, parts))


# `monitor`'s exit code when its verdict says retrain (1 is an error, 2 a usage error).
RETRAIN_EXIT_CODE = 3


@app.command()
@one_line_errors
def monitor() -> None:
    """Compare the most recent stored predictions with the training data (drift), and
    say whether to retrain. Exits 0 when not, 3 when it should, 1 on an error."""
    from .monitoring.report import monitor as write_report
    from .params import load_params
    from .settings import load_settings

    settings = load_settings()
    summary, verdict = write_report(settings, load_params(settings.params_file))
    typer.echo(summary)
    if verdict["retrain"]:
        raise typer.Exit(code=RETRAIN_EXIT_CODE)


@app.command()
@one_line_errors
def snapshot() -> None:
    """Write the stored predictions that got feedback to data/feedback/, for ingest."""
    from .monitoring.snapshot import snapshot as write_snapshot
    from .settings import load_settings

    typer.echo(write_snapshot(load_settings()))


@app.command()
@one_line_errors
def retrain() -> None:
    """Run monitor; when its verdict says retrain, snapshot the feedback and run the
    pipeline (whose gate decides whether the new model serves)."""
    from .monitoring.report import monitor as write_report
    from .monitoring.snapshot import snapshot as write_snapshot
    from .params import load_params
    from .settings import load_settings

    settings = load_settings()
    summary, verdict = write_report(settings, load_params(settings.params_file))
    typer.echo(summary)
    if verdict["retrain"]:
        typer.echo(write_snapshot(settings))
        run_steps(STEPS, force=False)


@app.command()
@one_line_errors
def promote(
    version: Annotated[
        str,
        typer.Argument(
            help="A registered version's number, or without a registry the new"
            " model's version (reports/promotion.json)",
            show_default=False,
        ),
    ],
) -> None:
    """Serve this model version, whatever evaluate's gate decided."""
    from .params import load_params
    from .pipeline.evaluate import promote as serve_version
    from .settings import load_settings

    settings = load_settings()
    typer.echo(serve_version(settings, load_params(settings.params_file), version))


@app.command()
@one_line_errors
def rollback() -> None:
    """Serve the champion before the current one again."""
    from .params import load_params
    from .pipeline.evaluate import rollback as serve_previous
    from .settings import load_settings

    settings = load_settings()
    typer.echo(serve_previous(settings, load_params(settings.params_file)))


@app.command("migrate-store")
@one_line_errors
def migrate_store() -> None:
    """Move predictions stored by a server of template 1.0.0 to the current layout."""
    from redis.exceptions import RedisError

    from .settings import load_settings
    from .store.migration import migrate

    try:
        moved = migrate(load_settings())
    except (RedisError, OSError) as error:
        raise ProjectError(f"REDIS_URL: {error}") from None
    typer.echo(
        f"moved {moved.groups} groups ({moved.predictions} predictions,"
        f" {moved.feedback} with feedback) to the current layout"
    )


def parse_features(pairs: Sequence[str], names: Sequence[str]) -> dict[str, float]:
    """Turn ["name=1.5", ...] into {"name": 1.5}, requiring every one of `names`."""
    row: dict[str, float] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or name not in names:
            raise ProjectError(
                f"{pair!r}: expected NAME=VALUE with NAME one of {', '.join(names)}"
            )
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ProjectError(f"{name}: {value!r} is not a finite number")
        row[name] = number
    missing = [name for name in names if name not in row]
    if missing:
        raise ProjectError(f"missing feature(s): {', '.join(missing)}")
    return row


@app.command()
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option(help=f"Default: {ENV_PREFIX}HOST")] = None,
    port: Annotated[int | None, typer.Option(help=f"Default: {ENV_PREFIX}PORT")] = None,
    workers: Annotated[
        int | None, typer.Option(help=f"Default: {ENV_PREFIX}WORKERS")
    ] = None,
) -> None:
    """Serve the trained model over HTTP (interactive docs at /docs)."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from .predictor import Predictor
    from .settings import load_settings

    settings = load_settings()
    workers = workers or settings.workers
    if workers > 1 and settings.redis_url is None:
        raise ProjectError(
            f"{workers} workers need REDIS_URL: without it each worker keeps its own"
            " predictions, and most reads would answer 404"
        )
    Predictor.load(settings)  # fail here in one line, not in each worker
    # uvicorn sets up logging in every worker process: have it show ours too. (The
    # access log's lines are written to standard output directly: serving/recorder.py.)
    package = __package__ or DISTRIBUTION
    log_config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "loggers": {
            **LOGGING_CONFIG["loggers"],
            package: {
                "handlers": ["default"],
                "level": settings.log_level,
                "propagate": False,
            },
        },
    }
    uvicorn.run(
        f"{__package__}.serving.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=log_config,
        access_log=False,  # ours, when on (serving/recorder.py), says more
        log_level=settings.log_level.lower(),
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_seconds,
        # A worker answers uvicorn's health check once it has imported the app and
        # loaded the model: 2 s on a 2-core machine, twice that with workers starting
        # side by side. The default, 5 s, leaves too little room on a busy machine.
        timeout_worker_healthcheck=10,
    )
