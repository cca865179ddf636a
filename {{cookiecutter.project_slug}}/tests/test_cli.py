"""The command line, as a user runs it from the project folder."""

import json
import runpy
import sys
from typing import Any

import pytest
import uvicorn
import yaml
from derived import outside_range, unlearnable_frame
from typer.testing import CliRunner

from {{ cookiecutter.module_name }} import ENV_PREFIX, cli, dataset
from {{ cookiecutter.module_name }}.cli import app
from {{ cookiecutter.module_name }}.dataset import CLASSES, EXAMPLE, FEATURES
from {{ cookiecutter.module_name }}.model import version
from {{ cookiecutter.module_name }}.params import load_params
from {{ cookiecutter.module_name }}.settings import Settings

ARGUMENTS = [f"{name}={EXAMPLE[name]}" for name in FEATURES]
LAST = FEATURES[-1]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_pipeline_runs_every_step_and_writes_every_output(
    runner: CliRunner, isolated_env: Settings
) -> None:
    result = runner.invoke(app, ["pipeline"])

    assert result.exit_code == 0, result.output
    for path in (
        isolated_env.raw_data_file,
        isolated_env.train_file,
        isolated_env.test_file,
        isolated_env.model_file,
        isolated_env.metrics_file,
    ):
        assert path.is_file(), path


def test_a_model_under_the_accuracy_floor_fails_the_pipeline(
    runner: CliRunner, isolated_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = isolated_env.data_dir.parent / "strict.yaml"
    shipped = yaml.safe_load(isolated_env.params_file.read_text())
    shipped["evaluate"]["min_accuracy"] = 1.0
    strict.write_text(yaml.safe_dump(shipped))
    monkeypatch.setenv(f"{ENV_PREFIX}PARAMS_FILE", str(strict))
    monkeypatch.setattr(dataset, "load", unlearnable_frame)

    failed = runner.invoke(app, ["pipeline"])
    again = runner.invoke(app, ["pipeline"])

    # Evaluate is not recorded as done: a rerun checks the gate again.
    assert failed.exit_code == again.exit_code == 1
    last = [result.stderr.strip().splitlines()[-1] for result in (failed, again)]
    assert last[0] == last[1]
    assert last[0].startswith("error: evaluate: the challenger fails its gate: ")
    assert "is below evaluate.min_accuracy 1.0" in last[0]
    decision = json.loads(isolated_env.promotion_file.read_text())
    assert decision["promoted"] is False


def test_steps_run_one_by_one(runner: CliRunner, isolated_env: Settings) -> None:
    for step in ("ingest", "prepare", "train", "evaluate"):
        result = runner.invoke(app, [step])
        assert result.exit_code == 0, f"{step}: {result.output}"

    accuracy = json.loads(isolated_env.metrics_file.read_text())["accuracy"]
    assert accuracy >= load_params(isolated_env.params_file).evaluate.min_accuracy


def test_predict_prints_the_label_and_probabilities(
    runner: CliRunner, trained_env: Settings
) -> None:
    result = runner.invoke(app, ["predict", *ARGUMENTS])

    assert result.exit_code == 0, result.output
    prediction = json.loads(result.output)
    assert prediction["label"] in CLASSES
    assert set(prediction["probabilities"]) == set(CLASSES)
    assert prediction["model_version"] == version(trained_env.model_file)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (ARGUMENTS[:-1], f"missing feature(s): {LAST}"),
        ([*ARGUMENTS[:-1], f"{LAST}=wide"], "'wide' is not a finite number"),
        ([*ARGUMENTS[:-1], f"{LAST}=nan"], "'nan' is not a finite number"),
        ([*ARGUMENTS, "not_declared=1"], "'not_declared=1': expected NAME=VALUE"),
    ],
)
def test_predict_rejects_bad_features(
    runner: CliRunner, trained_env: Settings, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["predict", *arguments])

    assert result.exit_code == 1
    assert message in result.output


def test_predict_applies_the_declared_ranges(
    runner: CliRunner, isolated_env: Settings
) -> None:
    feature, value = outside_range()
    others = [argument for argument in ARGUMENTS if not argument.startswith(feature)]

    result = runner.invoke(app, ["predict", *others, f"{feature}={value}"])

    assert result.exit_code == 1
    assert result.output.startswith(f"error: {feature}: Input should be")


def test_a_bad_setting_fails_with_one_line(
    runner: CliRunner, isolated_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}LOG_LEVEL", "LOUD")

    result = runner.invoke(app, ["ingest"])

    assert result.exit_code == 1
    assert result.output.startswith(f"error: {ENV_PREFIX}LOG_LEVEL: Input should be")


def test_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("ingest", "prepare", "train", "evaluate", "pipeline", "predict"):
        assert command in result.output


def test_python_dash_m_runs_the_same_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = cli.__name__.rpartition(".")[0]
    monkeypatch.setattr(sys, "argv", [package, "--help"])

    with pytest.raises(SystemExit) as exited:
        runpy.run_module(package, run_name="__main__")

    assert exited.value.code == 0
    assert "pipeline" in capsys.readouterr().out


def test_serve_runs_uvicorn_with_the_settings(
    runner: CliRunner, trained_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda target, **options: calls.append({"target": target, **options}),
    )
    monkeypatch.setenv(f"{ENV_PREFIX}WORKERS", "3")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")

    result = runner.invoke(app, ["serve", "--port", "9001"])

    assert result.exit_code == 0, result.output
    [call] = calls
    assert call["target"] == f"{cli.__package__}.serving.app:create_app"
    assert call["factory"] is True
    assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 9001, 3)
    # What slow clients can hold, bounded as the settings say (serving/limits.py).
    settings = Settings()
    assert call["limit_concurrency"] == settings.max_connections
    assert call["timeout_keep_alive"] == settings.keep_alive_seconds


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train"], "processed/train.csv does not exist: run the earlier"),
        (["predict", *ARGUMENTS], "model.joblib does not exist: run the earlier"),
        (["serve"], "model.joblib does not exist: run the earlier"),
        (["serve", "--workers", "2"], "2 workers need REDIS_URL: without it each"),
    ],
    ids=["step without input", "predict untrained", "serve untrained", "workers"],
)
def test_a_command_that_cannot_run_says_why_in_one_line(
    runner: CliRunner, isolated_env: Settings, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, arguments)

    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert message in result.output
    assert result.output.count("\n") == 1
