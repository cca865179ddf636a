"""Every request the OpenAPI schema allows gets an answer, never a server error.

schemathesis draws requests for every operation from the app's own schema: valid ones,
malformed ones, and requests about a prediction that exists. hypothesis shrinks any
failure to the smallest request that still fails.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok

from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.settings import Settings


@pytest.fixture(scope="module")
def client(trained: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(trained), raise_server_exceptions=False) as client:
        yield client


def requests(client: TestClient) -> st.SearchStrategy[Case[Any]]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    # An operation that the schema cannot describe fails the test here.
    operations = [
        result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)
    ]
    assert len(operations) == len(schema), "every operation can be generated"
    created = client.post("/predict", json=EXAMPLE).json()
    existing = {"prediction_id": created["prediction_id"]}
    strategies = [
        operation.as_strategy(mode)
        for operation in operations
        for mode in GenerationMode
    ]
    strategies += [
        operation.as_strategy(path_parameters=existing)
        for operation in operations
        if "{prediction_id}" in operation.path
    ]
    return st.one_of(*strategies)


@pytest.mark.slow
def test_no_request_is_a_server_error(client: TestClient) -> None:
    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(requests(client))
    def answered(case: Case[Any]) -> None:
        sent = case.as_transport_kwargs(base_url=str(client.base_url))
        sent.pop("cookies", None)  # the client keeps its own
        response = client.request(**sent)
        assert response.status_code < 500, f"{case.as_curl_command()}: {response.text}"

    answered()
