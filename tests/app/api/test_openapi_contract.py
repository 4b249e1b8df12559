"""Issue 11 item 10: the OpenAPI document is the truth. Each error the server sends (422 from schema validation and
from the intake, 413, 429, 503, 401) is validated against the model the document gives for that route and status,
and every `rewards` shape the document admits is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

ITEM = {"id": "a", "completion": "<think>\nw\n</think>\n<answer>\n\\boxed{2}\n</answer>", "reference": {"answer": "2"}}


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "max_items": 4,
        "max_items_in_flight": 4,
        "max_request_bytes": 4096,
        "max_bytes_in_flight": 8192,
        "admission_wait_s": 0.2,  # a 429 comes after the (short) wait for a slot, with a derived Retry-After
        "math": MathSettings(workers=1, timeout_s=2.0),
        "sandbox": SandboxSettings(backend="bwrap", workers=1),
    }
    return Settings(**{**base, **overrides})


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(settings())) as c:
        yield c


def documented(client: TestClient, method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON schema the document gives for (route, status), with its components resolvable."""
    document = client.get("/openapi.json").json()
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def assert_documented(client: TestClient, method: str, path: str, response: Any) -> dict[str, Any]:
    body = response.json()
    jsonschema_rs.validate(documented(client, method, path, response.status_code), body)
    return body


@pytest.mark.parametrize("path", ["/v1/score", "/get_reward", "/slime/reward"])
def test_schema_validation_errors_are_the_documented_422(client: TestClient, path: str) -> None:
    response = client.post(path, json={"items": "no", "query": 3, "response": 5})
    assert response.status_code == 422
    body = assert_documented(client, "POST", path, response)
    assert body["code"] == "invalid_request" and body["errors"]


def test_intake_errors_are_the_documented_422(client: TestClient) -> None:
    both = {**ITEM, "reference": {"answer": "2", "tests": [{"input": "", "output": ""}]}}
    for body in ({"items": [both]}, {"items": [ITEM], "rewards": {"nope": {}}}, {"items": [ITEM], "rewards": "x"}):
        response = client.post("/v1/score", json=body)
        assert response.status_code == 422, response.text
        answer = assert_documented(client, "POST", "/v1/score", response)
        assert answer["errors"][0]["field"] in ("items.0.reference", "rewards.nope", "rewards")
    not_json = client.post("/v1/score", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    assert_documented(client, "POST", "/v1/score", not_json)


def test_limits_are_the_documented_413(client: TestClient) -> None:
    too_many = client.post("/v1/score", json={"items": [{**ITEM, "id": str(i)} for i in range(5)]})
    assert too_many.status_code == 413
    assert assert_documented(client, "POST", "/v1/score", too_many)["code"] == "payload_too_large"
    too_big = client.post("/get_reward", json={"query": ["x" * 5000]})
    assert too_big.status_code == 413
    assert "ARBITER_MAX_REQUEST_BYTES" in assert_documented(client, "POST", "/get_reward", too_big)["detail"]


def test_overload_and_shutdown_are_the_documented_429_and_503(client: TestClient) -> None:
    admission = client.app.state.admission  # type: ignore[attr-defined]
    held = admission.admit(4)
    portal = client.portal
    assert portal is not None
    portal.call(held.__aenter__)
    try:
        response = client.post("/v1/score", json={"items": [ITEM]})
    finally:
        portal.call(held.__aexit__, None, None, None)
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert assert_documented(client, "POST", "/v1/score", response)["code"] == "overloaded"
    admission.drain()
    try:
        response = client.post("/slime/reward", json={"response": "x"})
    finally:
        admission.open()
    assert response.status_code == 503 and "retry-after" in response.headers
    assert assert_documented(client, "POST", "/slime/reward", response)["code"] == "not_ready"


def test_auth_errors_are_the_documented_401(client: TestClient) -> None:
    with TestClient(create_app(settings(api_keys=["k"]))) as c:
        for method, path in (("POST", "/v1/score"), ("GET", "/v1/rewards"), ("GET", "/metrics"), ("GET", "/readyz")):
            response = c.request(method, path, json={})
            assert response.status_code == 401
            # The document is the same with or without keys; read it from the open app.
            assert assert_documented(client, method, path, response)["code"] == "unauthorized"


def test_no_route_documents_fastapis_default_422(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "post":
                assert {"413", "422", "429", "503"} <= set(operation["responses"]), path


@pytest.mark.parametrize(
    "rewards",
    [
        None,
        "r1-zero",
        {"profile": "dapo"},
        {"format": {}},
        {"format": {"weight": 0.5}, "accuracy": {}},
        {"profile": "dapo", "overlong": {"max_len": 8192}},
    ],
)
def test_rewards_shapes_the_schema_admits_are_accepted(client: TestClient, rewards: Any) -> None:
    schema = documented(client, "POST", "/v1/score", 200)  # for the components
    request_schema = client.get("/openapi.json").json()["components"]["schemas"]["ScoreRequest"]
    body = {"items": [ITEM], "rewards": rewards}
    jsonschema_rs.validate({**request_schema, "components": schema["components"]}, body)
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    assert_documented(client, "POST", "/v1/score", response)


@pytest.mark.parametrize("rewards", [{}, {"format": "weight"}, {"profile": {"format": {}}}, {"profile": None}])
def test_rewards_shapes_the_server_refuses_are_outside_the_schema(client: TestClient, rewards: Any) -> None:
    request_schema = client.get("/openapi.json").json()["components"]["schemas"]["ScoreRequest"]
    components = client.get("/openapi.json").json()["components"]
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate({**request_schema, "components": components}, {"items": [ITEM], "rewards": rewards})
    response = client.post("/v1/score", json={"items": [ITEM], "rewards": rewards})
    assert response.status_code == 422, response.text
    assert_documented(client, "POST", "/v1/score", response)
