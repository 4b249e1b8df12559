"""Issue 11.4: one small item must not freeze the server. Extraction and gold normalization are linear; a
31 kB gold of nested braces and a 125 kB completion of `\\boxed{` repeated are scored while `/healthz`
keeps answering, and an over-long `reference.answer` is a 422 that says what to send instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app
from app.math import extract_answer
from app.math.normalize import normalize
from app.references import MAX_REFERENCE_ANSWER_CHARS

NESTED_GOLD = "{" * 15_500 + "1" + "}" * 15_500  # 31 kB, within the reference bound
BOXES = "\\boxed{" * (125_000 // 7)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        max_items=64,
        max_completion_chars=200_000,
        math=MathSettings(workers=1, timeout_s=2.0),
        sandbox=SandboxSettings(backend="bwrap", workers=1),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_extraction_and_normalization_are_linear():
    # quadratic scans took tens of seconds here; doubling the input must not quadruple the time
    def cost(n: int) -> float:
        t = time.perf_counter()
        extract_answer("\\boxed{" * n)
        normalize("{" * n + "1" + "}" * n)
        return time.perf_counter() - t

    small, big = min(cost(4_000) for _ in range(3)), min(cost(16_000) for _ in range(3))
    assert big < small * 8 + 0.05, (small, big)
    assert normalize(NESTED_GOLD) == "1"
    assert extract_answer(BOXES).answer is None


def test_healthz_answers_while_adversarial_items_are_scored(client):
    items = [
        {"id": "boxes", "completion": BOXES, "reference": {"answer": "1"}},
        {"id": "nested", "completion": "\\boxed{1}", "reference": {"answer": NESTED_GOLD}},
    ] * 8
    result: dict[str, object] = {}

    def post() -> None:
        result["response"] = client.post("/v1/score", json={"items": items, "rewards": {"accuracy": {}}})

    worker = threading.Thread(target=post)
    worker.start()
    latencies = []
    while worker.is_alive():
        t = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        latencies.append(time.perf_counter() - t)
        time.sleep(0.01)
    worker.join()
    response = result["response"]
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    rows = response.json()["results"]  # type: ignore[attr-defined]
    assert [r["reward"] for r in rows] == [0.0, 1.0] * 8
    assert max(latencies, default=0.0) < 0.5, latencies


def test_overlong_reference_answer_is_a_422(client):
    body = {
        "items": [
            {"id": "a", "completion": "\\boxed{1}", "reference": {"answer": "1" * (MAX_REFERENCE_ANSWER_CHARS + 1)}}
        ]
    }
    response = client.post("/v1/score", json=body)
    assert response.status_code == 422
    assert "final answer" in response.text
