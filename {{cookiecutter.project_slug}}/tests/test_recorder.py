"""What each request leaves behind: its access-log line, with the id its answer
returns (its latency in /metrics is test_feedback_and_metrics.py's)."""

import json
import sys
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from servers import api_server

from {{ cookiecutter.module_name }} import ENV_PREFIX
from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.settings import Settings


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    """The access log's lines, which go to standard output."""
    output = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in output if line.startswith("{")]


def test_each_request_is_one_line_with_the_id_its_answer_returns(
    trained: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(trained)) as client:
        answer = client.post("/predict", json=EXAMPLE)
        missing = client.get("/predictions/nope")

    [predicted, looked_up] = lines(capsys)
    assert predicted["request_id"] == answer.headers["x-request-id"]
    assert len(answer.headers["x-request-id"]) == 32
    assert (predicted["method"], predicted["path"], predicted["status"]) == (
        "POST",
        "/predict",
        200,
    )
    assert isinstance(predicted["duration_ms"], float)
    assert (looked_up["status"], looked_up["request_id"]) == (
        404,
        missing.headers["x-request-id"],
    )


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("from-the-proxy.42", True), ("x" * 65, False), ("has spaces", False)],
)
def test_a_usable_incoming_request_id_is_kept(
    trained: Settings, capsys: pytest.CaptureFixture[str], sent: str, kept: bool
) -> None:
    with TestClient(create_app(trained)) as client:
        answer = client.get("/health", headers={"X-Request-ID": sent})

    [line] = lines(capsys)
    assert (answer.headers["x-request-id"] == sent) is kept
    assert line["request_id"] == answer.headers["x-request-id"]


def test_off_logs_nothing_and_adds_no_header(
    trained: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = trained.model_copy(update={"access_log": "off"})
    with TestClient(create_app(quiet)) as client:
        answer = client.post("/predict", json=EXAMPLE)

    assert answer.status_code == 200
    assert "x-request-id" not in answer.headers
    assert lines(capsys) == []


def test_a_log_line_that_cannot_be_written_costs_no_answer(
    trained: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    closed = (tmp_path / "stdout.log").open("w")
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    with TestClient(create_app(trained)) as client:
        answer = client.post("/predict", json=EXAMPLE)

    assert answer.status_code == 200
    assert answer.headers["x-request-id"]


def test_serve_writes_each_line_as_plain_json(
    trained: Settings, tmp_path: Path
) -> None:
    output = tmp_path / "stdout.log"
    with output.open("wb") as log:
        executor, base = api_server(
            trained, log, **{f"{ENV_PREFIX}LOG_LEVEL": "WARNING"}
        )
        with executor:
            answer = httpx2.post(f"{base}/predict", json=EXAMPLE)

    logged = [
        json.loads(line)
        for line in output.read_text().splitlines()
        if line.startswith("{")
    ]
    mine = [
        line for line in logged if line["request_id"] == answer.headers["x-request-id"]
    ]
    assert [(line["path"], line["status"]) for line in mine] == [("/predict", 200)]
