"""The pipeline as Airflow DAGs: one task per step, in the pipeline's order.

- `{{ cookiecutter.module_name }}_pipeline` runs the steps on a schedule; the gate in
  evaluate decides whether the new model serves.
- `{{ cookiecutter.module_name }}_retrain` runs `monitor`, then branches on its verdict
  (reports/monitoring.json): when it says retrain, `snapshot` turns the labelled
  feedback into training data and the steps run; else nothing more happens.

Airflow pins its own versions of libraries the project also uses (FastAPI among them),
so the tasks never import the project: each runs the project's command line, either in
the project's own environment on the worker (`make install` creates it), exactly as
`make pipeline` does, or in a Kubernetes pod of the release image.

Settings come from the environment of the Airflow workers, prefixed like the project's:
- TASK_IMAGE: when set (an image reference), every task runs as a pod of that image
  (KubernetesPodOperator, from the cncf.kubernetes provider) instead of on the worker;
- PROJECT_DIR: the project checkout, for tasks on the worker (default: the folder above
  dags/);
- the project's own {{ cookiecutter.module_name | upper }}_REPORTS_DIR, where monitor wrote
  its report (default: reports, in the project folder);
- SCHEDULE, RETRAIN_SCHEDULE: cron expressions or presets (default: @daily each).

Pods share no disk, and the steps hand files to each other: the task pods mount one
PersistentVolumeClaim, deploy/kubernetes/airflow/pvc.yaml, where the files stay between
tasks and runs, as in a checkout. Object storage would make every step read and write
through S3 instead. Each task runs its step whether or not it is up to date (a step run
on its own always runs), as on a worker.
"""

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, BaseOperator, chain, task

PREFIX = "{{ cookiecutter.module_name | upper }}_"
SLUG = "{{ cookiecutter.project_slug }}"
IMAGE = os.environ.get(f"{PREFIX}TASK_IMAGE")
PROJECT_DIR = Path(os.environ.get(f"{PREFIX}PROJECT_DIR", Path(__file__).parents[1]))
# Where monitor writes its report, which the retrain DAG's branch reads.
REPORTS = os.environ.get(f"{PREFIX}REPORTS_DIR", "reports")
REPORT = PROJECT_DIR / REPORTS / "monitoring.json"
COMMAND = PROJECT_DIR / ".venv" / "bin" / SLUG
STEPS = ("ingest", "prepare", "train", "evaluate")
DEFAULTS = {"retries": 2, "retry_delay": timedelta(minutes=5)}
# In a pod: the claim's mount, where the steps' files live, and the parameters the
# image was built with.
WORK = "/work"
POD_REPORTS = f"{WORK}/reports"
POD_FILES = {
    f"{PREFIX}DATA_DIR": f"{WORK}/data",
    f"{PREFIX}MODELS_DIR": f"{WORK}/models",
    f"{PREFIX}REPORTS_DIR": POD_REPORTS,
    f"{PREFIX}LOCK_FILE": f"{WORK}/pipeline.lock",
    f"{PREFIX}PARAMS_FILE": "/app/configs/params.yaml",
}
# The Secrets whose keys the pods get as environment variables, beside the ConfigMap.
SECRETS: list[str] = {{ ([cookiecutter.project_slug ~ "-tracking"] if cookiecutter.experiment_tracking == "mlflow" else []) | tojson }}
# Where KubernetesPodOperator reads a pod's XCom from.
XCOM = "/airflow/xcom/return.json"


def command(name: str, *arguments: str) -> BaseOperator:
    """A task that runs the project's command line with `arguments`."""
    if IMAGE is not None:
        return pod(name, [SLUG, *arguments])
    line = " ".join([str(COMMAND), *arguments])
    return BashOperator(task_id=name, bash_command=line, cwd=str(PROJECT_DIR))


def monitor() -> BaseOperator:
    """monitor, whose exit code 3 is its verdict "retrain", not a failure. In a pod, its
    report goes to XCom, where the branch reads it."""
    if IMAGE is None:
        line = f"{COMMAND} monitor || test $? -eq 3"
        return BashOperator(task_id="monitor", bash_command=line, cwd=str(PROJECT_DIR))
    line = (
        f"{SLUG} monitor; code=$?; "
        f"cp {POD_REPORTS}/monitoring.json {XCOM} && "
        "{ [ $code -eq 0 ] || [ $code -eq 3 ]; }"
    )
    return pod("monitor", ["sh", "-c", line], xcom=True)


def pod(name: str, command: list[str], xcom: bool = False) -> BaseOperator:
    """A task that runs `command` in a pod of IMAGE, as deploy/kubernetes/ runs the
    image: its user, a read-only root, the project's ConfigMap and Secret."""
    # Imported here: a worker that runs the tasks itself needs no provider.
    from airflow.providers.cncf.kubernetes.operators.pod import (
        KubernetesPodOperator,
    )
    from kubernetes.client import models as k8s

    locked = k8s.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
    )
    config = k8s.V1ConfigMapEnvSource(name=f"{SLUG}-config")
    sources = [k8s.V1EnvFromSource(config_map_ref=config)]
    for secret in SECRETS:
        source = k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=secret))
        sources.append(source)
    return KubernetesPodOperator(
        task_id=name,
        name=f"{SLUG}-{name}",
        image=IMAGE,
        cmds=command,
        env_vars=POD_FILES,
        env_from=sources,
        volumes=[
            k8s.V1Volume(
                name="work",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                    claim_name=f"{SLUG}-pipeline"
                ),
            ),
            k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource()),
        ],
        volume_mounts=[
            k8s.V1VolumeMount(name="work", mount_path=WORK),
            k8s.V1VolumeMount(name="tmp", mount_path="/tmp"),  # noqa: S108
        ],
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=10001,  # the image's user
            run_as_group=10001,
            fs_group=10001,  # so that the claim is writable by that user
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=locked,
        # The sidecar that hands the monitor's report to XCom runs locked down too.
        xcom_sidecar_container_security_context=locked,
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "1", "memory": "1Gi"}, limits={"memory": "2Gi"}
        ),
        automount_service_account_token=False,
        do_xcom_push=xcom,
        on_finish_action="delete_pod",
    )


def steps() -> list[BaseOperator]:
    return [command(step, step) for step in STEPS]


def scheduled(dag_id: str, description: str, schedule: str) -> DAG:
    """A DAG of this project, on the schedule in the variable PREFIX + `schedule`."""
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=os.environ.get(f"{PREFIX}{schedule}", "@daily"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        default_args=DEFAULTS,
        # The runs of a DAG share the steps' files: one at a time.
        max_active_runs=1,
        tags=[SLUG],
    )


@task.branch(task_id="verdict")
def verdict(**context: Any) -> str:
    """Follow monitor's verdict: retrain (`snapshot`, then the steps), or stop."""
    if IMAGE is None:
        report = json.loads(REPORT.read_text())
    else:
        report = context["ti"].xcom_pull(task_ids="monitor")
    return "snapshot" if report["verdict"]["retrain"] else "no_retrain"


with scheduled(
    "{{ cookiecutter.module_name }}_pipeline",
    "ingest -> prepare -> train -> evaluate",
    "SCHEDULE",
):
    chain(*steps())

with scheduled(
    "{{ cookiecutter.module_name }}_retrain",
    "monitor -> verdict -> snapshot -> ingest ... evaluate",
    "RETRAIN_SCHEDULE",
):
    branch = verdict()
    chain(monitor(), branch, command("snapshot", "snapshot"), *steps())
    branch >> EmptyOperator(task_id="no_retrain")
