"""DAG integrity, run by `make airflow-test` in Airflow's own environment."""

import json
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).parents[1]
PREFIX = "{{ cookiecutter.module_name | upper }}_"
PIPELINE = "{{ cookiecutter.module_name }}_pipeline"
RETRAIN = "{{ cookiecutter.module_name }}_retrain"
STEPS = {
    ("ingest", "prepare"),
    ("prepare", "train"),
    ("train", "evaluate"),
    ("evaluate",),
}


def edges(dag_id: str) -> set[tuple[str, ...]]:
    dag = DagBag(dag_folder=DAGS).get_dag(dag_id)
    assert dag is not None
    assert all(task.retries == 2 for task in dag.tasks)
    return {(task.task_id, *sorted(task.downstream_task_ids)) for task in dag.tasks}


def test_the_dags_import_without_errors() -> None:
    bag = DagBag(dag_folder=DAGS)

    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == [PIPELINE, RETRAIN]


def test_one_task_per_step_in_pipeline_order() -> None:
    assert edges(PIPELINE) == STEPS


def test_retrain_branches_on_the_monitors_verdict() -> None:
    assert edges(RETRAIN) == {
        ("monitor", "verdict"),
        ("verdict", "no_retrain", "snapshot"),
        ("no_retrain",),
        ("snapshot", "ingest"),
        *STEPS,
    }


@pytest.mark.parametrize(
    ("retrain", "follows"), [(True, "snapshot"), (False, "no_retrain")]
)
def test_the_branch_follows_the_verdict_in_the_report(
    retrain: bool, follows: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "monitoring.json").write_text(
        json.dumps({"verdict": {"retrain": retrain, "reasons": []}})
    )
    monkeypatch.setenv(f"{PREFIX}PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv(f"{PREFIX}REPORTS_DIR", ".")
    dag = DagBag(dag_folder=DAGS).get_dag(RETRAIN)
    assert dag is not None

    assert dag.get_task("verdict").python_callable() == follows
