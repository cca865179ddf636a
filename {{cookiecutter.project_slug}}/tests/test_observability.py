"""Observability as the team on call meets it: /metrics through Prometheus' own checker,
the alert rules of deploy/monitoring/ and their unit tests, and a real Prometheus that
scrapes a real server with its key, answers every dashboard query, and sees the store
alert fire while Redis stalls."""

import dataclasses
import json
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pytest_redis.executor import RedisExecutor
from servers import (
    api_server,
    installed,
    prometheus_server,
    redis_server,
    redis_url,
)

from {{ cookiecutter.module_name }} import DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.module_name }}.dataset import CLASSES, EXAMPLE
from {{ cookiecutter.module_name }}.monitoring.report import in_redis
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.metrics import NAMESPACE
from {{ cookiecutter.module_name }}.serving.refresh import swap
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.store.records import MonitorRun

MONITORING = Path(__file__).resolve().parents[1] / "deploy" / "monitoring"
ALERTS = MONITORING / "alerts.yml"
# Prometheus scrapes and evaluates four times a second here, every 15 s in compose.
INTERVAL = "250ms"


def promtool(*arguments: str, stdin: str | None = None) -> str:
    """Run promtool; fail with its output unless it succeeds. Returns the output."""
    done = subprocess.run(
        [installed("promtool", "prometheus"), *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def rules() -> list[dict[str, Any]]:
    [group] = yaml.safe_load(ALERTS.read_text())["groups"]
    found: list[dict[str, Any]] = group["rules"]
    return found


def test_metrics_pass_promtool_after_traffic_an_outage_and_a_swap(
    trained: Settings, private_redis: RedisExecutor
) -> None:
    settings = trained.model_copy(
        update={"redis_url": redis_url(private_redis), "store_drain_seconds": 0}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        answer = client.post("/predict", json=EXAMPLE).json()
        client.post(
            f"/predictions/{answer['prediction_id']}/feedback",
            json={"label": CLASSES[0]},
        )
        client.post("/predict", json={"wrong": 1})
        run = MonitorRun(
            retrain=True,
            finished_at=time.time(),
            model_version=answer["model_version"],
            min_live_accuracy=0.8,
            min_feedback=50,
            retrain_since=time.time() - 90_000,
        )
        in_redis(settings, lambda store: store.save_monitor_run(run))  # as monitor
        client.get("/metrics")  # reads the store's values while it answers
        private_redis.stop()  # an outage: predictions wait in the backlog
        client.post("/predict", json=EXAMPLE)
        swap(app, dataclasses.replace(app.state.predictor, version="swapped"))
        app.state.metrics.load_failed()
        text = client.get("/metrics").text

    assert promtool("check", "metrics", stdin=text) == ""
    found = {
        sample.name.removeprefix(f"{NAMESPACE}_"): sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    for name in (
        "store_pending_writes",
        "feedback_predictions",
        "monitor_retrain_since_timestamp_seconds",
    ):
        assert found[name].value > 0, name
    assert found["model_info"].labels["version"] == "swapped"
    assert found["model_load_failures_total"].value == 1


def test_the_alert_rules_pass_promtool_and_their_unit_tests() -> None:
    checked = promtool("check", "rules", str(ALERTS))
    tested = promtool("test", "rules", *map(str, sorted(MONITORING.glob("*.test.yml"))))

    assert f"SUCCESS: {len(rules())} rules found" in checked
    assert "FAILED" not in tested


def test_every_alert_has_a_runbook_section_and_a_unit_test() -> None:
    runbooks = (MONITORING / "runbooks.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (\w+)$", runbooks, re.MULTILINE)
    tests = [
        test["alertname"]
        for path in MONITORING.glob("*.test.yml")
        for case in yaml.safe_load(path.read_text())["tests"]
        for test in case["alert_rule_test"]
        if test["exp_alerts"]  # a test in which the alert fires
    ]

    names = [rule["alert"] for rule in rules()]
    assert sections == names
    assert set(tests) == set(names)
    for rule in rules():
        assert rule["annotations"]["runbook_url"].endswith(f"#{rule['alert'].lower()}")
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}


@dataclasses.dataclass
class Scraped:
    """A real API server with a key, storing in a private Redis, scraped with that key
    by a real Prometheus that evaluates the alert rules."""

    api: str
    key: str
    prometheus: str
    redis: RedisExecutor

    def predict(self, count: int) -> None:
        for _ in range(count):
            httpx2.post(
                f"{self.api}/predict",
                json=EXAMPLE,
                headers={"authorization": f"Bearer {self.key}"},
            ).raise_for_status()

    def query(self, expression: str) -> list[dict[str, Any]]:
        response = httpx2.get(
            f"{self.prometheus}/api/v1/query", params={"query": expression}
        )
        answer = response.json()
        assert answer["status"] == "success", (expression, answer)
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def alerts(self) -> dict[str, str]:
        """The alerts that Prometheus holds now, by name: pending or firing."""
        found = httpx2.get(f"{self.prometheus}/api/v1/alerts").json()["data"]["alerts"]
        return {alert["labels"]["alertname"]: alert["state"] for alert in found}

    def rule_health(self) -> list[str]:
        groups = httpx2.get(f"{self.prometheus}/api/v1/rules").json()["data"]["groups"]
        return [rule["health"] for group in groups for rule in group["rules"]]


def eventually(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.25)


def scrape_config(folder: Path, base: str) -> Path:
    """The shipped prometheus.yml, pointed at `base` and its key file, with the rules'
    `for` removed so that an alert fires as soon as its expression holds."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"] = {
        "scrape_interval": INTERVAL,
        "evaluation_interval": INTERVAL,
    }
    [job] = config["scrape_configs"]
    job["authorization"]["credentials_file"] = str(folder / "key")
    job["static_configs"] = [{"targets": [base.removeprefix("http://")]}]
    alerts = yaml.safe_load(ALERTS.read_text())
    for rule in alerts["groups"][0]["rules"]:
        rule.pop("for", None)
    (folder / "alerts.yml").write_text(yaml.safe_dump(alerts))
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def scraped(
    trained: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scraped]:
    folder = tmp_path_factory.mktemp("prometheus")
    key = secrets.token_hex(16)
    (folder / "key").write_text(key)
    log = (folder / "servers.log").open("wb")
    with log, redis_server(folder) as store:
        api, base = api_server(
            trained,
            log,
            REDIS_URL=redis_url(store),
            **{
                f"{ENV_PREFIX}API_KEY": key,
                f"{ENV_PREFIX}REDIS_TIMEOUT_SECONDS": "0.2",
            },
        )
        with api:
            prometheus, url = prometheus_server(scrape_config(folder, base), log)
            with prometheus:
                scraped = Scraped(base, key, url, store)
                # Each test starts once the API is a target that answers: Prometheus's
                # first scrape may come seconds after it starts.
                eventually(lambda: scraped.query("up == 1") != [])
                yield scraped


@pytest.mark.slow
def test_prometheus_scrapes_with_the_key_and_every_panel_query_answers(
    scraped: Scraped,
) -> None:
    scraped.predict(20)
    eventually(lambda: bool(scraped.query(f"{NAMESPACE}_predictions_total > 0")))
    eventually(lambda: scraped.rule_health() == ["ok"] * len(rules()))
    dashboard = json.loads((MONITORING / "grafana" / "dashboard.json").read_text())
    source = yaml.safe_load((MONITORING / "grafana" / "datasources.yml").read_text())

    [up] = scraped.query("up")
    assert up["value"][1] == "1"
    assert up["metric"]["job"] == DISTRIBUTION  # the job that ApiDown watches
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["datasources"][0]["uid"]
            # Grafana's own variable: at least four scrape intervals.
            scraped.query(target["expr"].replace("$__rate_interval", "1m"))
    [traffic] = dashboard["panels"][0]["targets"]
    # A rate needs two scrapes of the counter: the second may be an interval away.
    traffic_rate = traffic["expr"].replace("$__rate_interval", "1m")
    eventually(lambda: bool(scraped.query(traffic_rate)))


@pytest.mark.slow
def test_the_store_alert_fires_while_redis_stalls_and_clears_after(
    scraped: Scraped,
) -> None:
    assert "StoreNotWriting" not in scraped.alerts()

    redis.Redis.from_url(redis_url(scraped.redis)).client_pause(2500, all=True)
    scraped.predict(5)  # each waits 0.2 s at most, then waits in the backlog

    eventually(lambda: scraped.alerts().get("StoreNotWriting") == "firing")
    eventually(lambda: "StoreNotWriting" not in scraped.alerts())  # written since
