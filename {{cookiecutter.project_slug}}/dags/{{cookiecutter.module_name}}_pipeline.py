"""The pipeline as Airflow DAGs: one task per step, in the pipeline's order.

- `{{ cookiecutter.module_name }}_pipeline` runs the steps on a schedule; the gate in
  evaluate decides whether the new model serves.
- `{{ cookiecutter.module_name }}_retrain` runs `monitor`, then branches on its verdict
  (reports/monitoring.json): when it says retrain, `snapshot` turns the labelled
  feedback into training data and the steps run; else nothing more happens.

Airflow pins its own versions of libraries the project also uses (FastAPI among them),
so the tasks never import the project: each runs the project's command line in the
project's own environment (`make install` creates it), exactly as `make pipeline` does.

Settings come from the environment of the Airflow workers, prefixed like the project's:
- PROJECT_DIR: the project checkout (default: the folder above dags/);
- the project's own {{ cookiecutter.module_name | upper }}_REPORTS_DIR, where monitor wrote
  its report (default: reports, in the project folder);
- SCHEDULE, RETRAIN_SCHEDULE: cron expressions or presets (default: @daily each).
"""

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain, task

PREFIX = "{{ cookiecutter.module_name | upper }}_"
PROJECT_DIR = Path(os.environ.get(f"{PREFIX}PROJECT_DIR", Path(__file__).parents[1]))
# Where monitor writes its report, which the retrain DAG's branch reads.
REPORTS = os.environ.get(f"{PREFIX}REPORTS_DIR", "reports")
REPORT = PROJECT_DIR / REPORTS / "monitoring.json"
COMMAND = PROJECT_DIR / ".venv" / "bin" / "{{ cookiecutter.project_slug }}"
STEPS = ("ingest", "prepare", "train", "evaluate")
DEFAULTS = {"retries": 2, "retry_delay": timedelta(minutes=5)}


def command(name: str, line: str) -> BashOperator:
    """A task that runs `line` in the project folder."""
    return BashOperator(task_id=name, bash_command=line, cwd=str(PROJECT_DIR))


def steps() -> list[BashOperator]:
    return [command(step, f"{COMMAND} {step}") for step in STEPS]


def scheduled(dag_id: str, description: str, schedule: str) -> DAG:
    """A DAG of this project, on the schedule in the variable PREFIX + `schedule`."""
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=os.environ.get(f"{PREFIX}{schedule}", "@daily"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        default_args=DEFAULTS,
        tags=["{{ cookiecutter.project_slug }}"],
    )


@task.branch(task_id="verdict")
def verdict() -> str:
    """Follow monitor's verdict: retrain (`snapshot`, then the steps), or stop."""
    report = json.loads(REPORT.read_text())
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
    # Exit code 3 is monitor's verdict "retrain", not a failure: the branch reads it.
    monitor = command("monitor", f"{COMMAND} monitor || test $? -eq 3")
    branch = verdict()
    chain(monitor, branch, command("snapshot", f"{COMMAND} snapshot"), *steps())
    branch >> EmptyOperator(task_id="no_retrain")
