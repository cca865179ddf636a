"""Closing the loop over HTTP: feedback on stored predictions, and GET /metrics."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr
from servers import redis_url

from {{ cookiecutter.module_name }}.dataset import CLASSES, EXAMPLE
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.metrics import NAMESPACE
from {{ cookiecutter.module_name }}.settings import Settings

KEY = "a-long-random-key"


@pytest.fixture(params=["memory", "redis"])
def client(request: pytest.FixtureRequest, trained: Settings) -> Iterator[TestClient]:
    """A client of a fresh server, storing in memory or in a Redis of its own."""
    if request.param == "redis":
        url = redis_url(request.getfixturevalue("private_redis"))
        trained = trained.model_copy(update={"redis_url": url})
    with TestClient(create_app(trained)) as client:
        yield client


def samples(client: TestClient, headers: dict[str, str] | None = None) -> list[Sample]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = text_string_to_metric_families(response.text)
    return [sample for family in families for sample in family.samples]


def value(found: list[Sample], name: str, **labels: str) -> float:
    [sample] = [
        s
        for s in found
        if s.name == f"{NAMESPACE}_{name}" and labels.items() <= s.labels.items()
    ]
    return sample.value


def predict(client: TestClient) -> str:
    prediction_id: str = predicted(client)["prediction_id"]
    return prediction_id


def predicted(client: TestClient) -> dict[str, str]:
    """Predict the example row; return the answer's id and label."""
    response = client.post("/predict", json=EXAMPLE)
    assert response.status_code == 200
    answer: dict[str, str] = response.json()
    return answer


def another(label: str) -> str:
    """A class other than `label`."""
    return next(name for name in CLASSES if name != label)


def test_feedback_is_kept_and_read_back(client: TestClient) -> None:
    prediction_id = predict(client)

    given = client.post(
        f"/predictions/{prediction_id}/feedback", json={"label": CLASSES[-1]}
    )
    read = client.get(f"/predictions/{prediction_id}").json()

    assert given.status_code == 200
    assert read["feedback"]["label"] == CLASSES[-1]
    assert read["feedback"]["received_at"].startswith("20")
    assert read == given.json()


def test_a_deleted_prediction_is_gone_with_its_feedback(client: TestClient) -> None:
    prediction_id = predict(client)
    client.post(f"/predictions/{prediction_id}/feedback", json={"label": CLASSES[0]})

    deleted = client.delete(f"/predictions/{prediction_id}")
    read = client.get(f"/predictions/{prediction_id}")
    again = client.delete(f"/predictions/{prediction_id}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (read.status_code, again.status_code) == (404, 404)


def test_a_second_feedback_replaces_the_first(client: TestClient) -> None:
    answer = predicted(client)
    path = f"/predictions/{answer['prediction_id']}/feedback"

    client.post(path, json={"label": another(answer["label"])})
    client.post(path, json={"label": answer["label"]})

    read = client.get(f"/predictions/{answer['prediction_id']}").json()
    assert read["feedback"]["label"] == answer["label"]
    assert value(samples(client), "feedback_predictions") == 1
    assert value(samples(client), "live_accuracy") == 1.0


def test_feedback_on_an_unknown_prediction_is_a_404(client: TestClient) -> None:
    response = client.post("/predictions/nope/feedback", json={"label": CLASSES[0]})

    assert response.status_code == 404
    assert response.json() == {"detail": "no prediction with id 'nope'"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"label": "not_a_class"}, "must be one of the model's classes: "),
        ({"label": ""}, "at least 1 character"),
        ({}, "Field required"),
        ({"label": CLASSES[0], "extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_feedback_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, object], message: str
) -> None:
    prediction_id = predict(client)

    response = client.post(f"/predictions/{prediction_id}/feedback", json=body)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"][0] == "body"
    assert message in problem["msg"]


def test_metrics_count_requests_and_predictions(client: TestClient) -> None:
    answers = [predicted(client) for _ in range(30)]
    label = answers[0]["label"]
    client.post("/predict/batch", json={"rows": [EXAMPLE] * 5})
    client.get("/predictions/nope")
    right, wrong = (f"/predictions/{a['prediction_id']}/feedback" for a in answers[:2])
    client.post(right, json={"label": label})
    client.post(wrong, json={"label": another(label)})

    found = samples(client)

    requests = "http_request_duration_seconds_count"
    assert value(found, requests, route="/predict", status="200") == 30
    assert value(found, requests, route="/predict/batch", status="200") == 1
    assert value(found, requests, route="/predictions/{prediction_id}") == 1
    assert value(found, "predictions_total", label=label) == 35
    assert value(found, "predictions_total", label=another(label)) == 0
    assert value(found, "feedback_predictions") == 2
    assert value(found, "feedback_correct_predictions") == 1
    assert value(found, "live_accuracy") == 0.5
    assert value(found, "store_failed_writes_total") == 0
    assert value(found, "store_pending_writes") == 0
    assert value(found, "store_dropped_total") == 0
    version = client.get("/model").json()["version"]
    assert value(found, "model_info", version=version, runtime="onnx") == 1


def test_live_accuracy_is_absent_until_feedback_arrives(client: TestClient) -> None:
    predict(client)

    names = {sample.name for sample in samples(client)}

    assert f"{NAMESPACE}_live_accuracy" not in names
    assert f"{NAMESPACE}_feedback_predictions" in names


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    client.get("/no/such/path")
    client.get("/nor/this/one")

    found = samples(client)

    requests = "http_request_duration_seconds_count"
    assert value(found, requests, route="unmatched", status="404") == 2


@pytest.mark.parametrize(("public", "status"), [(False, 401), (True, 200)])
def test_with_a_key_metrics_need_it_unless_public(
    trained: Settings, public: bool, status: int
) -> None:
    settings = trained.model_copy(
        update={"api_key": SecretStr(KEY), "metrics_public": public}
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == status
        key = {"authorization": f"Bearer {KEY}"}
        assert client.get("/metrics", headers=key).status_code == 200
        assert client.post("/predictions/x/feedback", json={}).status_code == 401
