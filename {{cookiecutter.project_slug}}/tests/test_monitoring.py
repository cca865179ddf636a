"""`make monitor`: drift between the training set and the stored predictions."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from derived import span
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pytest_redis.executor import RedisExecutor
from servers import environment, redis_url
from typer.testing import CliRunner

from {{ cookiecutter.module_name }}.cli import RETRAIN_EXIT_CODE, app
from {{ cookiecutter.module_name }}.dataset import CLASSES, FEATURES, TARGET
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.monitoring.drift import stability_index
from {{ cookiecutter.module_name }}.monitoring.report import in_redis, monitor
from {{ cookiecutter.module_name }}.monitoring.snapshot import PROVENANCE
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.metrics import NAMESPACE
from {{ cookiecutter.module_name }}.settings import Settings

# The first and the last feature move up by a fifth of their declared range.
SHIFTED = {
    feature: (span(feature)[1] - span(feature)[0]) / 5
    for feature in (FEATURES[0], FEATURES[-1])
}


@pytest.fixture
def live(trained: Settings, private_redis: RedisExecutor, tmp_path: Path) -> Settings:
    """A trained project whose server stores its predictions in a fresh Redis, with
    data and reports of its own (a snapshot writes to the data folder)."""
    data = shutil.copytree(trained.data_dir, tmp_path / "data")
    reports = shutil.copytree(trained.reports_dir, tmp_path / "reports")
    return trained.model_copy(
        update={
            "redis_url": redis_url(private_redis),
            "data_dir": data,
            "reports_dir": reports,
        }
    )


def send(settings: Settings, rows: list[dict[str, float]]) -> list[str]:
    """Serve the model, predict every row, give feedback on some; return the ids."""
    with TestClient(create_app(settings)) as client:
        response = client.post("/predict/batch", json={"rows": rows})
        assert response.status_code == 200
        answers = response.json()["predictions"]
        for number, answer in enumerate(answers[:10]):  # five right, five wrong
            right = answer["label"]
            wrong = next(name for name in CLASSES if name != right)
            label = right if number % 2 else wrong
            client.post(
                f"/predictions/{answer['prediction_id']}/feedback",
                json={"label": label},
            )
    return [answer["prediction_id"] for answer in answers]


def training_rows(
    settings: Settings, count: int, shift: dict[str, float]
) -> list[dict[str, float]]:
    """Draw rows like the training set's, with some features moved by `shift`, kept
    inside their declared range."""
    training = pd.read_csv(settings.train_file)[list(FEATURES)]
    drawn = training.sample(count, replace=True, random_state=7)
    for feature, move in shift.items():
        low, high = span(feature)
        margin = (high - low) / 100
        drawn[feature] = (drawn[feature] + move).clip(low + margin, high - margin)
    return [
        {str(name): float(value) for name, value in row.items()}
        for row in drawn.to_dict("records")
    ]


def test_drift_is_reported_for_exactly_the_shifted_features(
    live: Settings, params: Params
) -> None:
    send(live, training_rows(live, 300, SHIFTED))

    summary, verdict = monitor(live, params)

    report = json.loads(live.monitoring_file.read_text())
    assert report["drifted"] == [f for f in FEATURES if f in SHIFTED]
    assert set(report["features"]) == set(FEATURES)
    for feature, drift in report["features"].items():
        assert drift["drifted"] is (feature in SHIFTED)
        assert 0 <= drift["p_value"] <= 1 and drift["psi"] >= 0
    assert report["predictions"] == 300
    assert report["feedback"] == {"predictions": 10, "accuracy": 0.5}
    assert report["window"]["first"] <= report["window"]["last"]
    drifted = ", ".join(f for f in FEATURES if f in SHIFTED)
    assert f"300 predictions; drifted: {drifted}" in summary
    assert (
        report["verdict"]
        == verdict
        == {
            "retrain": True,
            "reasons": [f"drifted: {drifted}"],
        }
    )
    assert f"verdict: drifted: {drifted};" in summary


def test_unshifted_traffic_shows_no_drift(live: Settings, params: Params) -> None:
    send(live, training_rows(live, 300, {}))

    monitor(live, params)

    report = json.loads(live.monitoring_file.read_text())
    assert report["drifted"] == []
    # Ten predictions have feedback, fewer than monitor.min_feedback: no accuracy yet.
    assert params.monitor.min_feedback > 10
    assert report["verdict"] == {"retrain": False, "reasons": []}


def test_live_accuracy_under_its_floor_says_retrain(
    live: Settings, params: Params
) -> None:
    send(live, training_rows(live, 300, {}))  # ten with feedback, half of them right
    rules = params.monitor.model_copy(
        update={"min_feedback": 10, "min_live_accuracy": 0.9}
    )

    _, verdict = monitor(live, params.model_copy(update={"monitor": rules}))

    assert verdict == {
        "retrain": True,
        "reasons": [
            "live accuracy 0.500 over 10 predictions with feedback is below"
            " monitor.min_live_accuracy 0.9"
        ],
    }


def test_every_replica_reports_the_last_verdict_and_its_thresholds(
    live: Settings, params: Params
) -> None:
    send(live, training_rows(live, 300, SHIFTED))
    rules = params.monitor.model_copy(
        update={"min_feedback": 7, "min_live_accuracy": 0.25}
    )

    monitor(live, params.model_copy(update={"monitor": rules}))

    with TestClient(create_app(live)) as replica:  # a server that never predicted
        version = replica.get("/model").json()["version"]
        found = {
            (
                sample.name.removeprefix(f"{NAMESPACE}_"),
                sample.labels.get("version"),
            ): sample.value
            for family in text_string_to_metric_families(replica.get("/metrics").text)
            for sample in family.samples
        }
    assert found[("monitor_retrain", version)] == 1
    assert found[("monitor_min_live_accuracy", None)] == 0.25
    assert found[("monitor_min_feedback", None)] == 7
    finished = found[("monitor_last_run_timestamp_seconds", None)]
    assert finished == pytest.approx(live.monitoring_file.stat().st_mtime, abs=5)
    assert found[("monitor_retrain_since_timestamp_seconds", version)] == finished


def test_runs_that_keep_saying_retrain_keep_the_first_ones_time(
    live: Settings, params: Params
) -> None:
    send(live, training_rows(live, 300, SHIFTED))
    calm = params.monitor.model_copy(update={"min_psi": 1e9})  # nothing drifts
    runs = []

    for rules in (params.monitor, params.monitor, calm):
        monitor(live, params.model_copy(update={"monitor": rules}))
        runs.append(in_redis(live, lambda store: store.last_monitor_run()))
    first, second, third = runs

    assert first and second and third
    assert first["retrain"] and second["retrain"] and not third["retrain"]
    assert second["retrain_since"] == first["retrain_since"] == first["finished_at"]
    assert second["finished_at"] > first["finished_at"]
    assert third["retrain_since"] is None


def test_the_page_draws_one_chart_per_feature(live: Settings, params: Params) -> None:
    send(live, training_rows(live, 100, SHIFTED))

    monitor(live, params)

    page = live.monitoring_page.read_text()
    charts = re.findall(r"<figure>.*?</figure>", page)
    assert len(charts) == len(FEATURES)
    for feature, chart in zip(FEATURES, charts, strict=True):
        assert feature in chart and chart.count("<svg") == 1
        assert ("drifted" if feature in SHIFTED else "stable") in chart
    assert "<script" not in page and "http" not in page  # nothing to fetch


def test_too_few_predictions_is_a_one_line_error(
    live: Settings, params: Params
) -> None:
    send(live, training_rows(live, 5, {}))

    with pytest.raises(ProjectError, match="^5 stored predictions: .* at least 30"):
        monitor(live, params)
    assert not live.monitoring_file.exists()


def test_without_redis_the_command_says_why_in_one_line(
    isolated_env: Settings,
) -> None:
    result = CliRunner().invoke(app, ["monitor"])

    assert result.exit_code == 1
    assert result.output.strip().startswith("error: REDIS_URL is not set")
    assert len(result.output.strip().splitlines()) == 1


def test_the_command_writes_both_reports(
    live: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(live, training_rows(live, 40, {}))
    for name, value in environment(live).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_URL", str(live.redis_url))

    result = CliRunner().invoke(app, ["monitor"])

    assert result.exit_code == 0, result.output
    assert live.monitoring_file.is_file() and live.monitoring_page.is_file()
    assert "verdict: no retrain" in result.output
    # A verdict of "retrain" is an exit code of its own, for automation.
    send(live, training_rows(live, 300, SHIFTED))
    drifted = CliRunner().invoke(app, ["monitor"])
    assert drifted.exit_code == RETRAIN_EXIT_CODE == 3, drifted.output
    assert "retrain: drifted: " in live.monitoring_page.read_text()


def test_the_stability_index_is_zero_for_the_same_sample_and_grows_with_a_shift() -> (
    None
):
    values = np.random.default_rng(0).normal(size=2000)

    assert stability_index(values, values) == pytest.approx(0)
    assert (
        0 < stability_index(values, values + 0.2) < stability_index(values, values + 1)
    )


def test_a_snapshot_keeps_each_labelled_prediction_once_with_its_provenance(
    live: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = send(live, training_rows(live, 40, {}))
    for name, value in environment(live).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_URL", str(live.redis_url))

    first = CliRunner().invoke(app, ["snapshot"])
    written = live.feedback_file.read_bytes()
    again = CliRunner().invoke(app, ["snapshot"])

    assert first.exit_code == again.exit_code == 0, first.output
    assert first.output.endswith("(10 labelled predictions, 10 new)\n")
    assert again.output.endswith("(10 labelled predictions, 0 new)\n")
    assert live.feedback_file.read_bytes() == written  # the same rows, the same file
    rows = pd.read_csv(live.feedback_file)
    assert list(rows.columns) == [*FEATURES, TARGET, *PROVENANCE]
    assert sorted(rows["prediction_id"]) == sorted(ids[:10])
    assert rows["labelled_at"].notna().all() and rows["model_version"].notna().all()


def test_retrain_acts_on_a_drifted_labelled_burst_and_trains_on_its_feedback(
    isolated_env: Settings,
    private_redis: RedisExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = redis_url(private_redis)
    monkeypatch.setenv("REDIS_URL", url)
    runner = CliRunner()
    assert runner.invoke(app, ["pipeline"]).exit_code == 0
    rows = len(pd.read_csv(isolated_env.raw_data_file))
    trained = isolated_env.candidate_file.read_bytes()
    # Predictions that drift, each labelled (here, as the model answered).
    served = isolated_env.model_copy(update={"redis_url": url})
    burst = training_rows(served, 120, SHIFTED)
    with TestClient(create_app(served)) as client:
        answers = client.post("/predict/batch", json={"rows": burst}).json()
        for answer in answers["predictions"]:
            client.post(
                f"/predictions/{answer['prediction_id']}/feedback",
                json={"label": answer["label"]},
            )

    result = runner.invoke(app, ["retrain"])

    assert result.exit_code == 0, result.output
    report = json.loads(isolated_env.monitoring_file.read_text())
    assert report["verdict"]["retrain"] is True
    assert len(pd.read_csv(isolated_env.feedback_file)) == len(burst)
    assert len(pd.read_csv(isolated_env.raw_data_file)) == rows + len(burst)
    assert isolated_env.candidate_file.read_bytes() != trained  # a new model
    assert json.loads(isolated_env.promotion_file.read_text())["reason"]
