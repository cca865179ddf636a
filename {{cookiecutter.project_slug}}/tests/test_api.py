"""The HTTP API through an HTTP client: answers, limits, errors and the store."""

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from derived import outside_range, row_of
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pytest_redis.executor import RedisExecutor
from servers import group_in_redis, redis_url

from {{ cookiecutter.module_name }} import DISTRIBUTION
from {{ cookiecutter.module_name }}.dataset import CLASSES, EXAMPLE, FEATURES
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.model import load
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.predictor import Predictor
from {{ cookiecutter.module_name }}.serving.app import (
    MAX_PROBLEMS,
    create_app,
)
from {{ cookiecutter.module_name }}.serving.schemas import MAX_BATCH_ROWS
from {{ cookiecutter.module_name }}.settings import Settings

FIRST, LAST = FEATURES[0], FEATURES[-1]
MISSING_LAST = {name: value for name, value in EXAMPLE.items() if name != LAST}
KEY = "a-long-random-key"
JSON = {"content-type": "application/json"}


def serve(settings: Settings) -> TestClient:
    """A client for a fresh app; entering it runs start-up (the model loads)."""
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def client(trained: Settings) -> Iterator[TestClient]:
    with serve(trained) as client:
        yield client


def redis_settings(trained: Settings, url: str) -> Settings:
    return trained.model_copy(update={"redis_url": url, "redis_timeout_seconds": 1})


def test_predict_answers_a_label_with_probabilities(client: TestClient) -> None:
    response = client.post("/predict", json=EXAMPLE)

    assert response.status_code == 200
    body = response.json()
    assert body["label"] in CLASSES
    assert set(body["probabilities"]) == set(CLASSES)
    assert sum(body["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    assert body["model_version"] == client.get("/model").json()["version"]
    assert len(body["prediction_id"]) == 32


def test_a_prediction_reads_back_with_its_input(client: TestClient) -> None:
    created = client.post("/predict", json=EXAMPLE).json()

    stored = client.get(f"/predictions/{created['prediction_id']}")

    assert stored.status_code == 200
    assert stored.json()["input"] == EXAMPLE
    assert stored.json()["label"] == created["label"]
    assert stored.json()["created_at"].startswith("20")


def test_an_unknown_prediction_is_a_404(client: TestClient) -> None:
    response = client.get("/predictions/nope")

    assert response.status_code == 404
    assert response.json() == {"detail": "no prediction with id 'nope'"}


def test_the_openapi_example_is_a_valid_request(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    [example] = schema["components"]["schemas"]["Features"]["examples"]

    assert client.post("/predict", json=example).status_code == 200
    assert client.get("/docs").status_code == 200


def test_the_request_fields_are_the_model_features(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    fields = list(schema["components"]["schemas"]["Features"]["properties"])

    assert fields == client.get("/model").json()["features"]


@pytest.mark.parametrize(
    ("path", "body"), [("/predict", "Features"), ("/predict/batch", "BatchRequest")]
)
def test_the_documented_body_is_the_validated_one(
    client: TestClient, path: str, body: str
) -> None:
    schema = client.get("/openapi.json").json()
    request = schema["paths"][path]["post"]["requestBody"]
    ref = request["content"]["application/json"]["schema"]["$ref"]

    assert request["required"] is True
    assert ref == f"#/components/schemas/{body}"
    documented = schema["components"]["schemas"][body]
    assert documented["additionalProperties"] is False  # as the route refuses extras
    if body == "BatchRequest":
        rows = documented["properties"]["rows"]
        assert rows["items"] == {"$ref": "#/components/schemas/Features"}
        assert rows["maxItems"] == MAX_BATCH_ROWS


def test_a_batch_is_predicted_in_order(client: TestClient) -> None:
    rows = [row_of(CLASSES[0]), row_of(CLASSES[-1]), EXAMPLE]

    response = client.post("/predict/batch", json={"rows": rows})

    assert response.status_code == 200
    labels = [p["label"] for p in response.json()["predictions"]]
    assert labels[:2] == [CLASSES[0], CLASSES[-1]]
    assert labels == [client.post("/predict", json=row).json()["label"] for row in rows]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "List should have at least 1 item"),
        ([EXAMPLE] * (MAX_BATCH_ROWS + 1), f"at most {MAX_BATCH_ROWS} items"),
    ],
)
def test_batch_size_limits(client: TestClient, rows: list[Any], message: str) -> None:
    response = client.post("/predict/batch", json={"rows": rows})

    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**EXAMPLE, FIRST: "long"}, FIRST, "valid number"),
        ({**EXAMPLE, LAST: None}, LAST, "valid number"),
        (MISSING_LAST, LAST, "Field required"),
        (
            {**EXAMPLE, "not_declared": 1},
            "not_declared",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str, message: str
) -> None:
    response = client.post("/predict", json=body)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == field
    assert message in error["msg"]


def test_a_value_outside_its_declared_range_is_a_422(client: TestClient) -> None:
    feature, value = outside_range()

    response = client.post("/predict", json={**EXAMPLE, feature: value})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", feature]
    assert error["msg"].startswith(("Input should be greater", "Input should be less"))


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(EXAMPLE).encode()[:-3],
        b"not json at all",
        json.dumps({**EXAMPLE, FIRST: float("nan")}).encode(),
        b"[1, 2, 3]",
    ],
)
def test_malformed_bodies_are_a_422(client: TestClient, raw: bytes) -> None:
    response = client.post("/predict", content=raw, headers=JSON)

    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
@pytest.mark.parametrize("media_type", ["text/plain", "multipart/form-data"])
def test_a_body_that_is_not_json_is_a_415(
    client: TestClient, path: str, media_type: str
) -> None:
    body = json.dumps(EXAMPLE if path == "/predict" else {"rows": [EXAMPLE]})

    refused = client.post(path, content=body, headers={"content-type": media_type})
    accepted = client.post(
        path, content=body, headers={"content-type": "application/json; charset=utf-8"}
    )

    assert (refused.status_code, accepted.status_code) == (415, 200)


@pytest.mark.parametrize("value", ["5", True, [5.1], {"cm": 5.1}])
def test_a_feature_is_a_number_never_one_in_disguise(
    client: TestClient, value: object
) -> None:
    name = next(iter(EXAMPLE))

    response = client.post("/predict", json={**EXAMPLE, name: value})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", name]]


def test_a_422_lists_a_bounded_number_of_problems(client: TestClient) -> None:
    unknown = {f"x{number}": 1 for number in range(60_000)}  # under the body limit

    response = client.post("/predict", json={**EXAMPLE, **unknown})

    problems = response.json()["detail"]
    assert response.status_code == 422
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1]["msg"] == f"and {60_000 - MAX_PROBLEMS} more problems"
    assert len(response.content) < 10_000


def test_a_huge_body_is_a_413(client: TestClient, trained: Settings) -> None:
    huge = b"[" + b"1," * trained.max_body_bytes + b"1]"

    response = client.post("/predict/batch", content=huge)

    assert response.status_code == 413
    assert "Too Large" in response.text


def test_a_huge_streamed_body_is_a_413(client: TestClient, trained: Settings) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(trained.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    response = client.post("/predict/batch", content=chunks(), headers=JSON)

    assert response.status_code == 413


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_elsewhere(
    client: TestClient, page: str
) -> None:
    html = client.get(page).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert assets, html
    assert [asset for asset in assets if not asset.startswith("/")] == []
    assert {client.get(asset).status_code for asset in assets} == {200}


def test_health_reports_the_memory_store(client: TestClient) -> None:
    health = client.get("/health").json()

    assert (health["status"], health["reason"]) == ("ok", None)
    assert health["runtime"] == "onnx"
    assert health["store"] == {
        "backend": "memory",
        "reachable": True,
        "failed_writes": 0,
        "pending_writes": 0,
        "dropped": 0,
    }


def test_model_info_shows_version_and_metrics(
    client: TestClient, trained: Settings, params: Params
) -> None:
    info = client.get("/model").json()

    assert info["name"] == DISTRIBUTION
    assert info["runtime"] == Predictor.load(trained).runtime.name
    assert set(info["classes"]) == set(CLASSES)
    assert info["metrics"]["accuracy"] >= params.evaluate.min_accuracy
    assert info["params"]["seed"] == params.seed


def test_the_app_refuses_to_start_without_a_model(settings: Settings) -> None:
    app = serve(settings)

    with pytest.raises(ProjectError, match="model.joblib does not exist"), app:
        pass


@pytest.mark.parametrize(
    ("facts", "change"),
    [
        ("features", lambda names: (*names[:-1], "not_declared")),
        ("classes", lambda names: (*names[:-1], "not_a_class")),
    ],
)
def test_the_app_refuses_a_model_that_does_not_fit_the_data_module(
    trained: Settings,
    tmp_path: Path,
    facts: str,
    change: Callable[[tuple[str, ...]], tuple[str, ...]],
) -> None:
    model = load(trained.model_file)
    settings = trained.model_copy(update={"models_dir": tmp_path})
    if facts == "features":
        changed = replace(model, features=change(model.features))
    else:
        changed = replace(model, classes=change(model.classes))
    changed.save(settings.model_file)

    refused = f"does not fit dataset.py: its {facts}"
    with pytest.raises(ProjectError, match=refused), serve(settings):
        pass


def test_predictions_land_in_redis_and_survive_a_restart(
    trained: Settings, shared_redis: str
) -> None:
    settings = redis_settings(trained, shared_redis)
    with serve(settings) as first:
        created = first.post("/predict", json=EXAMPLE).json()
        assert first.get("/health").json()["store"]["backend"] == "redis"

    group = group_in_redis(shared_redis, created["prediction_id"])
    assert created["prediction_id"] in group["ids"]
    with serve(settings) as restarted:
        stored = restarted.get(f"/predictions/{created['prediction_id']}")
    assert stored.status_code == 200
    assert stored.json()["input"] == EXAMPLE


def test_a_redis_outage_costs_no_prediction(
    trained: Settings, private_redis: RedisExecutor
) -> None:
    settings = redis_settings(trained, redis_url(private_redis))
    settings = settings.model_copy(update={"store_drain_seconds": 0})
    with serve(settings) as client:
        private_redis.stop()
        during = client.post("/predict", json=EXAMPLE)
        health = client.get("/health").json()
        reads = client.get("/predictions/unknown-while-down")

        assert during.status_code == 200
        assert health["status"] == "degraded"
        assert health["reason"] == "the prediction store does not answer"
        assert health["store"]["reachable"] is False
        assert health["store"]["pending_writes"] == 1
        assert reads.status_code == 503
    assert "unavailable" in reads.json()["detail"]


@pytest.fixture
def guarded(trained: Settings) -> Iterator[TestClient]:
    """A client of a server that has an API key."""
    with serve(trained.model_copy(update={"api_key": SecretStr(KEY)})) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/predict", EXAMPLE),
        ("POST", "/predict/batch", {"rows": [EXAMPLE]}),
        ("GET", "/predictions/any", None),
        ("DELETE", "/predictions/any", None),
        ("POST", "/predictions/any/feedback", {"label": CLASSES[0]}),
        ("GET", "/model", None),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {KEY}"}],
    ids=["no key", "wrong key", "not a bearer"],
)
def test_with_a_key_set_every_endpoint_needs_it(
    guarded: TestClient,
    method: str,
    path: str,
    body: object,
    headers: dict[str, str],
) -> None:
    response = guarded.request(method, path, json=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]


def test_the_right_key_opens_the_api(guarded: TestClient) -> None:
    key = {"authorization": f"Bearer {KEY}"}

    created = guarded.post("/predict", json=EXAMPLE, headers=key)
    stored = guarded.get(f"/predictions/{created.json()['prediction_id']}", headers=key)

    assert created.status_code == stored.status_code == 200


@pytest.mark.parametrize("path", ["/health", "/docs", "/openapi.json"])
def test_probes_and_docs_stay_open(guarded: TestClient, path: str) -> None:
    assert guarded.get(path).status_code == 200


def test_the_openapi_schema_says_a_key_is_needed(guarded: TestClient) -> None:
    schema = guarded.get("/openapi.json").json()

    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" in schema["paths"]["/predict"]["post"]
    assert "security" not in schema["paths"]["/health"]["get"]


def test_a_server_without_a_key_says_it_is_open(
    trained: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with serve(trained):
        pass

    assert "no API key" in caplog.text
