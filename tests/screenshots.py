"""Take the course's screenshots from real servers of a trained project, with headless
Chromium: the MLflow UI's runs and registered model, the API's /docs, and a drift report.

    python tests/screenshots.py PROJECT OUTPUT_FOLDER

PROJECT is a default project that has run its pipeline (`make demo` leaves one in
build/). The drift report's traffic is the training set with its first feature shifted,
so that the picture shows a feature that drifted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from baking import free_port, needed, tool_env
from servers import chromium, no_job_runners, running

# Rows of the training set with the first declared feature moved by two of its
# standard deviations, as the API's batch request; the project's own Python prints it.
TRAFFIC = """
import json
import pandas as pd
from {module}.dataset import FEATURES
rows = pd.read_csv("data/processed/train.csv")[list(FEATURES)]
rows = rows.sample(200, replace=True, random_state=1)
rows[FEATURES[0]] += 2 * rows[FEATURES[0]].std()
print(json.dumps({{"rows": rows.to_dict("records")}}))
"""


def mlflow_api(url: str, search: dict[str, object] | None = None) -> dict[str, object]:
    """MLflow's REST answer for `url`: a GET, or a POST of `search` as JSON."""
    body = None if search is None else json.dumps(search).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def screenshot(url: str, picture: Path, profile: Path, shows: str, size: str = "1600,900") -> None:
    """A picture of `url`, `size` pixels wide and high, once its scripts have run; the page
    must show the text `shows`, so that a picture of a half-loaded page fails."""
    page = chromium(
        url,
        profile,
        "--hide-scrollbars",
        f"--window-size={size}",
        f"--screenshot={picture}",
        "--dump-dom",
    )
    assert picture.read_bytes().startswith(b"\x89PNG"), f"{picture.name} is not a PNG"
    assert shows in page, f"{picture.name}: {url} does not show {shows!r}"
    print(f"{picture}: {url}")


def main(project: Path, output: Path) -> None:
    bin_ = project / ".venv/bin"
    if not (project / "mlflow.db").exists():
        sys.exit(f"error: {project} has no mlflow.db: run its pipeline first (make demo)")
    module = project.name.replace("-", "_")
    output.mkdir(parents=True, exist_ok=True)
    with ExitStack() as servers, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as scratch:
        redis_port, api_port, ui_port = free_port(), free_port(), free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        redis = [needed("redis-server", "apt-get install redis-server")]
        redis += ["--port", str(redis_port), "--save", "", "--dir", scratch]
        servers.enter_context(running(redis, "Redis", lambda: ping(redis_port)))
        api = f"http://127.0.0.1:{api_port}"
        serve = [str(bin_ / project.name), "serve", "--port", str(api_port)]
        env = tool_env(REDIS_URL=redis_url, MLFLOW_DISABLE_TELEMETRY="true")
        servers.enter_context(running(serve, "the API", f"{api}/health", 120, cwd=project, env=env))
        traffic = subprocess.run(
            [str(bin_ / "python"), "-c", TRAFFIC.format(module=module)],
            cwd=project,
            capture_output=True,
            check=True,
        ).stdout
        request = urllib.request.Request(
            f"{api}/predict/batch", data=traffic, headers={"content-type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=30).close()
        subprocess.run(["make", "monitor"], cwd=project, env=env, check=True, capture_output=True)

        ui = f"http://127.0.0.1:{ui_port}"
        mlflow = ["make", "--no-print-directory", "mlflow-ui", f"MLFLOW_UI_PORT={ui_port}"]
        mlflow_ui = running(mlflow, "the MLflow UI", f"{ui}/health", 120, cwd=project)
        ui_server = servers.enter_context(mlflow_ui)
        search = f"{ui}/ajax-api/2.0/mlflow"
        # The model that serves (its champion alias), and the experiment updated last.
        models = mlflow_api(f"{search}/registered-models/search")["registered_models"]
        model = next(m for m in models if "champion" in str(m.get("aliases")))  # type: ignore
        experiments = mlflow_api(f"{search}/experiments/search?max_results=100")["experiments"]
        experiment = max(experiments, key=lambda e: int(e["last_update_time"]))  # type: ignore
        latest = {"experiment_ids": [experiment["experiment_id"]], "max_results": 1}
        run = mlflow_api(f"{search}/runs/search", latest)["runs"][0]  # type: ignore
        shifted = next(iter(json.loads(traffic)["rows"][0]))

        profile = Path(scratch) / "chromium"
        runs = f"{ui}/#/experiments/{experiment['experiment_id']}/runs"
        screenshot(runs, output / "mlflow-runs.png", profile, run["info"]["run_name"])
        name = urllib.parse.quote(model["name"])
        screenshot(f"{ui}/#/models/{name}", output / "mlflow-model.png", profile, "champion")
        screenshot(f"{api}/docs", output / "api-docs.png", profile, "/predict/batch", "1280,900")
        report = (project / "reports/monitoring.html").resolve()
        drifted = f"drifted: {shifted}"
        screenshot(report.as_uri(), output / "drift-report.png", profile, drifted, "1280,1320")
        no_job_runners(ui_server)


def ping(port: int) -> bool:
    pong = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
    return pong.stdout.strip() == "PONG"


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
