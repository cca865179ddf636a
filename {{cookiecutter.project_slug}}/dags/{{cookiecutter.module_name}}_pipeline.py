"""The pipeline as an Airflow DAG: one task per step, in the pipeline's order.

Airflow pins its own versions of libraries the project also uses (FastAPI among them),
so the tasks never import the project: each runs the project's command line in the
project's own environment (`make install` creates it), exactly as `make pipeline` does.

Settings come from the environment of the Airflow workers, prefixed like the project's:
- PROJECT_DIR: the project checkout (default: the folder above dags/);
- SCHEDULE: a cron expression or preset (default: @daily).
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain

PREFIX = "{{ cookiecutter.module_name | upper }}_"
PROJECT_DIR = Path(os.environ.get(f"{PREFIX}PROJECT_DIR", Path(__file__).parents[1]))
COMMAND = PROJECT_DIR / ".venv" / "bin" / "{{ cookiecutter.project_slug }}"
STEPS = ("ingest", "prepare", "train", "evaluate")

with DAG(
    dag_id="{{ cookiecutter.module_name }}_pipeline",
    description="ingest -> prepare -> train -> evaluate",
    schedule=os.environ.get(f"{PREFIX}SCHEDULE", "@daily"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["{{ cookiecutter.project_slug }}"],
) as dag:
    chain(
        *(
            BashOperator(
                task_id=step,
                bash_command=f"{COMMAND} {step}",
                cwd=str(PROJECT_DIR),
            )
            for step in STEPS
        )
    )
