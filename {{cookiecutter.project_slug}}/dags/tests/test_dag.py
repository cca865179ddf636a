"""DAG integrity, run by `make airflow-test` in Airflow's own environment."""

from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).parents[1]
DAG_ID = "{{ cookiecutter.module_name }}_pipeline"


def test_the_dags_import_without_errors() -> None:
    bag = DagBag(dag_folder=DAGS)

    assert bag.import_errors == {}
    assert list(bag.dag_ids) == [DAG_ID]


def test_one_task_per_step_in_pipeline_order() -> None:
    dag = DagBag(dag_folder=DAGS).get_dag(DAG_ID)

    assert dag is not None
    edges = {(task.task_id, *sorted(task.downstream_task_ids)) for task in dag.tasks}
    assert edges == {
        ("ingest", "prepare"),
        ("prepare", "train"),
        ("train", "evaluate"),
        ("evaluate",),
    }
    assert all(task.retries == 2 for task in dag.tasks)
