"""The command line: run pipeline steps and make predictions."""

import copy
import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Annotated

import typer
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from . import DISTRIBUTION, SUMMARY
from .errors import ProjectError
from .model import load as load_model
from .params import load_params
from .pipeline import STEPS, Step, runner
from .serving.predictor import served_model
from .settings import load_settings

log = logging.getLogger("{{ cookiecutter.module_name }}")

app = typer.Typer(
    name=DISTRIBUTION,
    help=SUMMARY,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str) -> typer.Exit:
    """Print one line to stderr; the caller raises the returned exit (code 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def run_steps(steps: Sequence[Step], force: bool, start: str | None = None) -> None:
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, format="%(message)s")
        params = load_params(settings.params_file)
        for done in runner.run(settings, params, steps, force=force, start=start):
            log.info(
                "%s%s: %s", "" if done.ran else "skipped ", done.step, done.summary
            )
    except ProjectError as error:
        raise fail(str(error)) from None


def step_command(step: Step) -> Callable[[], None]:
    def command() -> None:
        run_steps([step], force=True)

    return command


for _step in STEPS:
    app.command(name=_step.name, help=_step.summary)(step_command(_step))


@app.command()
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
def predict(
    features: Annotated[
        list[str],
        typer.Argument(
            help="Feature values as NAME=VALUE, for example sepal_length_cm=5.1",
            show_default=False,
        ),
    ],
) -> None:
    """Predict one row with the trained model and print the result as JSON."""
    try:
        model = load_model(load_settings().model_file)
        [prediction] = model.predict([parse_features(features, model.features)])
    except ProjectError as error:
        raise fail(str(error)) from None
    result = {"label": prediction.label, "probabilities": prediction.probabilities}
    typer.echo(json.dumps(result))


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
def serve(
    host: Annotated[str | None, typer.Option(help="Default: the HOST setting")] = None,
    port: Annotated[int | None, typer.Option(help="Default: the PORT setting")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Default: the WORKERS setting")
    ] = None,
) -> None:
    """Serve the trained model over HTTP (interactive docs at /docs)."""
    try:
        settings = load_settings()
        served_model(settings)  # fail here in one line, not in each worker
    except ProjectError as error:
        raise fail(str(error)) from None
    # uvicorn sets up logging in every worker process: have it show ours too.
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"][str(__package__)] = {
        "handlers": ["default"],
        "level": settings.log_level,
        "propagate": False,
    }
    uvicorn.run(
        f"{__package__}.serving.app:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_config=log_config,
        log_level=settings.log_level.lower(),
        # Each worker imports scikit-learn before it can answer uvicorn's health
        # check: on a small machine that takes longer than the default 5 s.
        timeout_worker_healthcheck=60,
    )
