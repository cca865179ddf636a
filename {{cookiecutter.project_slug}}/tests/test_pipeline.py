"""The whole pipeline, end to end on rows made from the data module's declaration."""

import pandas as pd

from {{ cookiecutter.module_name }}.dataset import CLASSES
from {{ cookiecutter.module_name }}.files import write_json
from {{ cookiecutter.module_name }}.model import load
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.pipeline import STEPS
from {{ cookiecutter.module_name }}.settings import Settings


def run_all(settings: Settings, params: Params) -> list[str]:
    return [step.run(settings, params) for step in STEPS]


def test_steps_run_in_pipeline_order() -> None:
    assert [step.name for step in STEPS] == ["ingest", "prepare", "train", "evaluate"]
    assert all(step.summary for step in STEPS)


def test_the_pipeline_trains_a_model(settings: Settings, params: Params) -> None:
    summaries = run_all(settings, params)

    rows = len(pd.read_csv(settings.raw_data_file))
    assert summaries[0] == f"wrote {settings.raw_data_file} ({rows} rows)"
    assert "serving accuracy " in summaries[-1]
    assert set(load(settings.model_file).classes) == set(CLASSES)


def test_the_same_seed_gives_the_same_data_and_metrics(
    settings: Settings, params: Params
) -> None:
    run_all(settings, params)
    first = [
        path.read_bytes()
        for path in (settings.train_file, settings.test_file, settings.metrics_file)
    ]
    write_json({}, settings.metrics_file)

    run_all(settings, params)

    again = [
        path.read_bytes()
        for path in (settings.train_file, settings.test_file, settings.metrics_file)
    ]
    assert again == first
