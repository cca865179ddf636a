"""Incremental runs: a step reruns only when what decides its outputs changes."""

import json
import logging
import shutil
import threading
from importlib.metadata import version
from pathlib import Path

import pytest
from derived import retuned
from filelock import FileLock

from {{ cookiecutter.module_name }}.dataset import CLASSES, EXAMPLE
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.pipeline import STEPS, runner
from {{ cookiecutter.module_name }}.pipeline.runner import code_of, run
from {{ cookiecutter.module_name }}.settings import Settings

EVERY_STEP = ["ingest", "prepare", "train", "evaluate"]


def ran(settings: Settings, params: Params, **options: object) -> list[str]:
    """The names of the steps that ran (the others were up to date)."""
    outcomes = run(settings, params, **options)  # type: ignore[arg-type]
    return [outcome.step for outcome in outcomes if outcome.ran]


def test_a_first_run_runs_every_step(settings: Settings, params: Params) -> None:
    assert ran(settings, params) == EVERY_STEP
    assert set(json.loads(settings.lock_file.read_text())) == set(EVERY_STEP)


def test_an_unchanged_rerun_skips_every_step(
    settings: Settings, params: Params
) -> None:
    ran(settings, params)
    lock = settings.lock_file.read_text()

    assert ran(settings, params) == []
    assert settings.lock_file.read_text() == lock


def test_a_parameter_reruns_its_step_and_those_downstream(
    settings: Settings, params: Params
) -> None:
    ran(settings, params)
    _, tuned = retuned(params)

    assert ran(settings, tuned) == ["train", "evaluate"]
    assert ran(settings, tuned) == []


def test_the_seed_reruns_every_step_that_reads_it(
    settings: Settings, params: Params
) -> None:
    ran(settings, params)

    assert ran(settings, params.model_copy(update={"seed": 7})) == EVERY_STEP[1:]


def test_a_hand_edited_output_is_written_again(
    settings: Settings, params: Params
) -> None:
    ran(settings, params)
    original = settings.train_file.read_text()
    with settings.train_file.open("a") as train_file:
        train_file.write(",".join([*map(str, EXAMPLE.values()), CLASSES[0]]) + "\n")

    # prepare writes the same file again, so the steps after it stay up to date.
    assert ran(settings, params) == ["prepare"]
    assert settings.train_file.read_text() == original


def test_a_deleted_output_is_written_again(settings: Settings, params: Params) -> None:
    ran(settings, params)
    settings.metrics_file.unlink()

    assert ran(settings, params) == ["evaluate"]
    assert settings.metrics_file.is_file()


def test_a_steps_code_is_its_module_and_what_it_imports() -> None:
    ingest, prepare, train, evaluate = (code_of(step) for step in STEPS)

    assert {"pipeline/ingest.py", "dataset.py", "files.py"} <= set(ingest)
    assert {"pipeline/train.py", "model.py", "tracking.py", "dataset.py"} <= set(train)
    assert {"pipeline/evaluate.py", "card.py", "model.py", "predictor.py"} <= set(
        evaluate
    )
    assert "pipeline/train.py" not in prepare
    assert not any(name.startswith("serving/") for name in evaluate)


def test_editing_an_imported_module_reruns_the_steps_that_import_it(
    settings: Settings, params: Params, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran(settings, params)
    package = tmp_path / "package"
    shutil.copytree(runner.PACKAGE_DIR, package)
    with (package / "dataset.py").open("a") as dataset:
        dataset.write("\n# load the team's data instead\n")
    monkeypatch.setattr(runner, "PACKAGE_DIR", package)

    # Every step reads FEATURES and TARGET from dataset.py.
    assert ran(settings, params) == EVERY_STEP
    assert ran(settings, params) == []


def test_a_library_upgrade_reruns_the_steps_that_declare_it(
    settings: Settings, params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran(settings, params)
    monkeypatch.setattr(
        runner, "version", lambda name: "99.0" if name == "joblib" else version(name)
    )

    assert ran(settings, params) == ["train", "evaluate"]


def test_force_and_from_override_the_lock(settings: Settings, params: Params) -> None:
    ran(settings, params)

    assert ran(settings, params, force=True) == EVERY_STEP
    assert ran(settings, params, start="train") == ["train", "evaluate"]


def test_from_names_the_steps_it_accepts(settings: Settings, params: Params) -> None:
    with pytest.raises(
        ProjectError, match="--from 'fit': choose one of ingest, prepare"
    ):
        ran(settings, params, start="fit")


def test_a_missing_input_stops_the_run_in_one_line(
    settings: Settings, params: Params
) -> None:
    with pytest.raises(ProjectError, match="^train: .*train.csv does not exist"):
        ran(settings, params, steps=STEPS[2:])


@pytest.mark.parametrize(
    "damage",
    ['{"ingest": {"code": ', "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> main\n", "[]"],
)
def test_a_damaged_lock_file_is_one_line_naming_it(
    settings: Settings, params: Params, damage: str
) -> None:
    settings.lock_file.write_text(damage)

    with pytest.raises(ProjectError) as raised:
        ran(settings, params)

    message = str(raised.value)
    assert message.startswith(f"{settings.lock_file} is not ")
    assert "--force" in message and "\n" not in message


def test_force_writes_a_damaged_lock_file_anew(
    settings: Settings, params: Params, caplog: pytest.LogCaptureFixture
) -> None:
    settings.lock_file.write_text("<<<<<<< HEAD\n")

    assert ran(settings, params, force=True) == EVERY_STEP
    assert set(json.loads(settings.lock_file.read_text())) == set(EVERY_STEP)
    assert "writing it anew" in caplog.text


@pytest.mark.slow
def test_a_second_run_waits_for_the_first(
    settings: Settings, params: Params, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = FileLock(settings.lock_file.with_name(".pipeline.running"))
    first.acquire()
    outcome: list[list[str]] = []
    second = threading.Thread(target=lambda: outcome.append(ran(settings, params)))

    second.start()
    second.join(timeout=1)
    waited = second.is_alive() and not settings.lock_file.exists()
    first.release()
    second.join(timeout=120)

    assert waited
    assert "another pipeline run is under way" in caplog.text
    assert outcome == [EVERY_STEP]
