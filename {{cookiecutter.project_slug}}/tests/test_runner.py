"""Incremental runs: a step reruns only when its code, parameters or inputs change."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.pipeline import STEPS
from {{ cookiecutter.module_name }}.pipeline.runner import run
from {{ cookiecutter.module_name }}.settings import Settings


def ran(settings: Settings, params: Params, **options: object) -> list[str]:
    """The names of the steps that ran (the others were up to date)."""
    outcomes = run(settings, params, **options)  # type: ignore[arg-type]
    return [outcome.step for outcome in outcomes if outcome.ran]


def test_a_first_run_runs_every_step(settings: Settings, params: Params) -> None:
    assert ran(settings, params) == ["ingest", "prepare", "train", "evaluate"]
    assert set(json.loads(settings.lock_file.read_text())) == {
        step.name for step in STEPS
    }


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
    stronger = params.model_copy(
        update={"train": params.train.model_copy(update={"C": 0.5})}
    )

    assert ran(settings, stronger) == ["train", "evaluate"]
    assert ran(settings, stronger) == []


def test_the_seed_reruns_every_step_that_reads_it(
    settings: Settings, params: Params
) -> None:
    ran(settings, params)

    assert ran(settings, params.model_copy(update={"seed": 7})) == [
        "prepare",
        "train",
        "evaluate",
    ]


def test_a_hand_edited_output_is_written_again(
    settings: Settings, params: Params
) -> None:
    ran(settings, params)
    original = settings.train_file.read_text()
    with settings.train_file.open("a") as train_file:
        train_file.write("5.0,3.0,1.5,0.2,setosa\n")

    # prepare writes the same file again, so the steps after it stay up to date.
    assert ran(settings, params) == ["prepare"]
    assert settings.train_file.read_text() == original


def test_a_deleted_output_is_written_again(settings: Settings, params: Params) -> None:
    ran(settings, params)
    settings.metrics_file.unlink()

    assert ran(settings, params) == ["evaluate"]
    assert settings.metrics_file.is_file()


def test_changed_step_code_reruns_the_step(
    settings: Settings, params: Params, tmp_path: Path
) -> None:
    ran(settings, params)
    edited = tmp_path / "prepare.py"
    edited.write_text(STEPS[1].source.read_text() + "\n# a change\n")
    steps = (STEPS[0], replace(STEPS[1], source=edited), *STEPS[2:])

    # The edit changes no output, so the steps after prepare stay up to date.
    assert ran(settings, params, steps=steps) == ["prepare"]


def test_force_and_from_override_the_lock(settings: Settings, params: Params) -> None:
    ran(settings, params)

    assert ran(settings, params, force=True) == [
        "ingest",
        "prepare",
        "train",
        "evaluate",
    ]
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
