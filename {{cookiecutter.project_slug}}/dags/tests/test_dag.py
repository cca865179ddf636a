"""DAG integrity, run by `make airflow-test` in Airflow's own environment."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import ApiClient

DAGS = Path(__file__).parents[1]
KUBERNETES = DAGS.parent / "deploy" / "kubernetes"
PREFIX = "{{ cookiecutter.module_name | upper }}_"
SLUG = "{{ cookiecutter.project_slug }}"
IMAGE = f"registry.example.com/{SLUG}:v1.2.3"
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


def pods(monkeypatch: pytest.MonkeyPatch, dag_id: str) -> dict[str, dict[str, Any]]:
    """Each pod task's pod, rendered as Kubernetes would receive it, without a
    cluster; with TASK_IMAGE set, as on the workers."""
    monkeypatch.setenv(f"{PREFIX}TASK_IMAGE", IMAGE)
    dag = DagBag(dag_folder=DAGS).get_dag(dag_id)
    assert dag is not None
    assert all(task.retries == 2 for task in dag.tasks)
    rendered = {
        task.task_id: ApiClient().sanitize_for_serialization(
            task.build_pod_request_obj(dry_run=True)
        )
        for task in dag.tasks
        if isinstance(task, KubernetesPodOperator)
    }
    # The branch and its empty end run in Airflow itself; every step is a pod.
    assert set(rendered) == {task.task_id for task in dag.tasks} - {
        "verdict",
        "no_retrain",
    }
    return rendered


def manifest(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((KUBERNETES / relative).read_text())
    return loaded


@pytest.mark.parametrize("dag_id", [PIPELINE, RETRAIN])
def test_on_kubernetes_each_step_is_a_pod_of_the_image_run_as_the_api_runs(
    dag_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = manifest("deployment.yaml")["spec"]["template"]["spec"]
    claim = manifest("airflow/pvc.yaml")["metadata"]["name"]
    job_secrets = []
    if (KUBERNETES / "jobs/retrain.yaml").exists():  # with experiment tracking
        retrain = manifest("jobs/retrain.yaml")["spec"]["jobTemplate"]["spec"]
        [job] = retrain["template"]["spec"]["containers"]
        job_secrets = [s for s in job["envFrom"] if "secretRef" in s]
    for name, pod in pods(monkeypatch, dag_id).items():
        container = pod["spec"]["containers"][0]
        sources = {
            kind: source[kind]["name"]
            for source in container["envFrom"]
            for kind in source
        }
        env = {item["name"]: item["value"] for item in container["env"]}
        mounts = {
            mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]
        }
        volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}

        assert container["image"] == IMAGE, name
        if name != "monitor":
            assert container["command"] == [SLUG, name]
        assert container["securityContext"] == api["containers"][0]["securityContext"]
        user = api["securityContext"]["runAsUser"]
        assert pod["spec"]["securityContext"]["runAsUser"] == user
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert {"requests", "limits"} <= container["resources"].keys()
        # The Secrets are the retraining Job's (the shared registry's address), if any.
        assert [s for s in container["envFrom"] if "secretRef" in s] == job_secrets
        assert sources["configMapRef"] == f"{SLUG}-config"
        # Every file the steps read and write is on the shared claim.
        work = next(path for path, volume in mounts.items() if volume == "work")
        assert volumes["work"]["persistentVolumeClaim"]["claimName"] == claim
        for folder in ("DATA", "MODELS", "REPORTS"):
            assert env[f"{PREFIX}{folder}_DIR"].startswith(f"{work}/"), folder
        assert env[f"{PREFIX}LOCK_FILE"].startswith(f"{work}/")
        assert env[f"{PREFIX}PARAMS_FILE"] == "/app/configs/params.yaml"


def test_on_kubernetes_the_monitor_hands_its_report_to_the_branch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monitor = pods(monkeypatch, RETRAIN)["monitor"]
    containers = {c["name"]: c for c in monitor["spec"]["containers"]}
    shell, flag, script = containers["base"]["command"]

    assert (shell, flag) == ("sh", "-c")
    assert f"{SLUG} monitor;" in script
    assert "/airflow/xcom/return.json" in script
    # Airflow reads the file through a sidecar, locked down as the step's container.
    sidecar = containers["airflow-xcom-sidecar"]
    assert sidecar["securityContext"] == containers["base"]["securityContext"]
    dag = DagBag(dag_folder=DAGS).get_dag(RETRAIN)
    assert dag is not None
    branch = dag.get_task("verdict").python_callable
    for retrain, follows in [(True, "snapshot"), (False, "no_retrain")]:
        report = {"verdict": {"retrain": retrain, "reasons": []}}
        assert branch(ti=PulledReport(report)) == follows


class PulledReport:
    """The task instance the branch gets: its XCom holds monitor's report."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report

    def xcom_pull(self, task_ids: str) -> dict[str, Any]:
        assert task_ids == "monitor"
        return self.report
