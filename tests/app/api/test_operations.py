"""Operations through the real ASGI app: API-key auth, 413/422/429, the request deadline, request ids, request
log lines and /metrics. Real math workers; bubblewrap sandbox where code runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"
# A power tower: sympy grinds on it until the math worker is killed at its deadline.
TOWER = "\\boxed{5^{5^{5^{5}}}}"


def math_item(id_: str, answer_block: str, gold: str) -> dict[str, Any]:
    return {"id": id_, "completion": R1.format(answer_block), "reference": {"answer": gold}}


def code_item(id_: str, program: str, cpu_s: float | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"tests": [{"input": "2\n", "output": "4\n"}]}
    if cpu_s is not None:
        reference["limits"] = {"cpu_s": cpu_s}
    return {"id": id_, "completion": R1.format(f"```python\n{program}\n```"), "reference": reference}


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = dict(
        max_items=8,
        max_items_in_flight=8,
        max_completion_chars=10_000,
        math=MathSettings(workers=1, timeout_s=1.5),
        sandbox=SandboxSettings(backend="bwrap", workers=1),
    )
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="module")
def keyed() -> Iterator[TestClient]:
    with TestClient(create_app(settings(api_keys=["k-one", "k-two"]))) as c:
        yield c


# ------------------------------------------------------------------------------------------------ auth


def test_healthz_needs_no_key(keyed: TestClient) -> None:
    assert keyed.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "path, method",
    [
        ("/v1/score", "POST"),
        ("/readyz", "GET"),
        ("/metrics", "GET"),
        ("/v1/rewards", "GET"),
        ("/get_reward", "POST"),
        ("/openapi.json", "GET"),
    ],
)
def test_every_other_route_needs_a_key(keyed: TestClient, path: str, method: str) -> None:
    missing = keyed.request(method, path, json={})
    assert missing.status_code == 401, missing.text
    assert missing.json()["code"] == "unauthorized" and "Authorization: Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = keyed.request(method, path, json={}, headers={"Authorization": "Bearer k-three"})
    assert wrong.status_code == 401 and "invalid API key" in wrong.json()["detail"]
    basic = keyed.request(method, path, json={}, headers={"Authorization": "Basic k-one"})
    assert basic.status_code == 401


def test_any_configured_key_is_accepted(keyed: TestClient) -> None:
    body = {"items": [math_item("a", "\\boxed{2}", "2")], "rewards": {"accuracy": {}}}
    for key in ("k-one", "k-two"):
        response = keyed.post("/v1/score", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["reward"] == 1.0


# ------------------------------------------------------------------------------------------------ 413 / 422


@pytest.fixture(scope="module")
def open_client() -> Iterator[TestClient]:
    # No admission wait: these tests hold the immediate 429 (tests/app/api/test_admission_queue.py: the wait).
    with TestClient(create_app(settings(max_items=2, max_items_in_flight=2, admission_wait_s=0))) as c:
        yield c


def test_413_too_many_items_and_too_long(open_client: TestClient) -> None:
    many = open_client.post("/v1/score", json={"items": [math_item(str(i), "\\boxed{1}", "1") for i in range(3)]})
    assert many.status_code == 413 and "ARBITER_MAX_ITEMS" in many.json()["detail"]
    long = open_client.post("/v1/score", json={"items": [math_item("x", "y" * 20_000, "1")]})
    assert long.status_code == 413 and "ARBITER_MAX_COMPLETION_CHARS" in long.json()["detail"]


def test_422_names_the_field(open_client: TestClient) -> None:
    response = open_client.post("/v1/score", json={"items": [{"id": "a"}]})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("items.0.completion")


def test_in_flight_limit_must_hold_a_batch() -> None:
    with pytest.raises(ValueError, match="ARBITER_MAX_ITEMS_IN_FLIGHT"):
        Settings(max_items=10, max_items_in_flight=5)


# ------------------------------------------------------------------------------------------------ 429


def test_429_at_once_without_admission_wait_while_items_are_in_flight(open_client: TestClient) -> None:
    slow = {
        "items": [math_item("t1", TOWER, "3"), math_item("t2", TOWER.replace("5}", "6}"), "3")],
        "rewards": {"accuracy": {}},
    }
    results: dict[str, httpx.Response] = {}
    worker = threading.Thread(target=lambda: results.setdefault("slow", open_client.post("/v1/score", json=slow)))
    worker.start()
    admission = open_client.app.state.admission  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while admission.in_flight < 2:
        assert time.monotonic() < deadline, "the slow batch was never admitted"
        time.sleep(0.01)
    started = time.monotonic()
    refused = open_client.post("/v1/score", json={"items": [math_item("q", "\\boxed{1}", "1")]})
    assert time.monotonic() - started < 0.5, "a refused request must not wait"
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "2"
    assert "ARBITER_MAX_ITEMS_IN_FLIGHT" in refused.json()["detail"]
    worker.join(30)
    assert results["slow"].status_code == 200
    assert admission.in_flight == 0
    # Capacity is back: the same request is admitted now.
    assert open_client.post("/v1/score", json={"items": [math_item("q", "\\boxed{1}", "1")]}).status_code == 200
    metrics = open_client.get("/metrics").text
    assert 'arbiter_rejected_requests_total{reason="overloaded"} 1.0' in metrics


# ------------------------------------------------------------------------------------------------ deadline


def test_deadline_returns_partial_results() -> None:
    # Math timeout (3 s) past the request deadline (0.6 s): the accuracy component is cut by the deadline,
    # the format component of the same items and the other rewards come back computed, but as the item is not
    # judged (its accuracy is unknown) no component counts: the format value is only in its details.
    s = settings(request_deadline_s=0.6, math=MathSettings(workers=1, timeout_s=3.0))
    with TestClient(create_app(s)) as client:
        started = time.monotonic()
        response = client.post(
            "/v1/score", json={"items": [math_item("tower", TOWER, "3")], "rewards": {"accuracy": {}, "format": {}}}
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert elapsed < 2.0, f"the deadline did not cut the request ({elapsed:.1f} s)"
        assert result["status"] == "timeout"
        assert "ARBITER_REQUEST_DEADLINE_S" in result["reason"]
        assert result["judged"] is False
        assert result["reward"] == 0.0
        assert result["components"] == {"accuracy": 0.0, "format": 0.0}
        assert result["details"]["format"]["value"] == 1.0
        metrics = client.get("/metrics").text
        assert 'arbiter_deadline_timeouts_total{reward="accuracy"} 1.0' in metrics
        assert 'arbiter_items_total{reward="format",status="ok"} 1.0' in metrics


@pytest.mark.bwrap
def test_deadline_keeps_the_code_items_that_finished() -> None:
    s = settings(request_deadline_s=2.0, sandbox=SandboxSettings(backend="bwrap", workers=2))
    with TestClient(create_app(s)) as client:
        if not client.get("/readyz").json()["sandbox"]["ready"]:
            pytest.fail("bubblewrap sandbox not ready: " + str(client.get("/readyz").json()))
        items = [
            code_item("fast", "print(int(input()) * 2)"),
            code_item("sleeper", "import time\ntime.sleep(8)\nprint(4)", cpu_s=8),
        ]
        response = client.post("/v1/score", json={"items": items, "rewards": {"accuracy": {}}})
        assert response.status_code == 200, response.text
        fast, sleeper = response.json()["results"]
        assert (fast["status"], fast["reward"]) == ("ok", 1.0), fast
        assert sleeper["status"] == "timeout" and "deadline" in sleeper["reason"], sleeper


# ------------------------------------------------------------------------------------------------ ids, logs, metrics


def test_request_id_echoed_or_generated(open_client: TestClient) -> None:
    given = open_client.get("/healthz", headers={"X-Request-ID": "trainer-step-7"})
    assert given.headers["x-request-id"] == "trainer-step-7"
    fresh = open_client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    hostile = open_client.get("/healthz", headers={"X-Request-ID": "a b;" + "x" * 200})
    assert len(hostile.headers["x-request-id"]) == 32, "an id with spaces or of 200+ characters is replaced"


def test_one_log_line_per_request_with_counts(open_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="arbiter.access"):
        open_client.post(
            "/v1/score",
            headers={"X-Request-ID": "log-me"},
            json={
                "items": [math_item("a", "\\boxed{2}", "2"), math_item("b", TOWER, "2")],
                "rewards": {"accuracy": {}},
            },
        )
    [record] = [r for r in caplog.records if r.name == "arbiter.access"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["status"] == 200 and fields["items"] == 2 and fields["path"] == "/v1/score"
    assert fields["outcomes"] == {"ok": 1, "timeout": 1}
    assert fields["duration_ms"] > 0
    import json

    from app.observability import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["items"] == 2


def test_metrics_content(open_client: TestClient) -> None:
    open_client.post(
        "/v1/score",
        json={
            "items": [math_item("a", "\\boxed{x^2}", "x^2"), math_item("b", "\\boxed{x^2}", "x^2")],
            "rewards": {"accuracy": {}},
        },
    )
    open_client.post("/v1/score", json={"items": [math_item("a", "\\boxed{x^2}", "x^2")], "rewards": {"accuracy": {}}})
    response = open_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for needle in [
        'arbiter_requests_total{code="200",method="POST",route="/v1/score"}',
        'arbiter_request_duration_seconds_bucket{le="0.005",route="/v1/score"}',
        'arbiter_items_total{reward="accuracy",status="ok"}',
        'arbiter_item_outcomes_total{status="ok"}',
        'arbiter_stage_duration_seconds_count{stage="math"}',
        'arbiter_stage_duration_seconds_count{stage="sandbox_run"}',
        'arbiter_stage_duration_seconds_count{stage="sandbox_queue_wait"}',
        "arbiter_math_cache_hits_total",
        "arbiter_math_timeouts_total",
        "arbiter_math_workers 1.0",
        'arbiter_sandbox_workers{state="idle"}',
        "arbiter_sandbox_pool_size 1.0",
        "arbiter_sandbox_recycled_total",
        "arbiter_items_in_flight 0.0",
        "arbiter_items_in_flight_limit 2.0",
    ]:
        assert needle in text, f"/metrics lacks {needle}"
    hits = [line for line in text.splitlines() if line.startswith("arbiter_math_cache_hits_total ")]
    assert float(hits[0].split()[1]) >= 1.0, "the repeated pair must be a cache hit"


@pytest.mark.bwrap
def test_sandbox_stages_are_timed() -> None:
    with TestClient(create_app(settings())) as client:
        response = client.post(
            "/v1/score", json={"items": [code_item("c", "print(int(input()) * 2)")], "rewards": {"accuracy": {}}}
        )
        assert response.json()["results"][0]["reward"] == 1.0, response.text
        text = client.get("/metrics").text
        assert 'arbiter_stage_duration_seconds_count{stage="sandbox_run"} 1.0' in text
        assert 'arbiter_stage_duration_seconds_count{stage="sandbox_queue_wait"} 1.0' in text
        assert "arbiter_sandbox_jobs_total 1.0" in text


def test_two_apps_in_one_process_keep_their_own_metrics() -> None:
    first, second = create_app(settings()), create_app(settings())
    assert first.state.metrics.registry is not second.state.metrics.registry
    assert b"arbiter_items_in_flight" in first.state.metrics.render()
