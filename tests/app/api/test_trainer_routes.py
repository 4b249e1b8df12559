"""The trainer protocol routes through the real ASGI app (real math workers, bwrap sandbox): OpenRLHF's
/get_reward and slime's /slime/reward answer in their trainers' shapes, and go through the same intake limits and
the same admission as /v1/score."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

RIGHT = "<think>\n6*7\n</think>\n<answer>\n\\boxed{42}\n</answer>"
WRONG = "<think>\nguess\n</think>\n<answer>\n\\boxed{41}\n</answer>"
UNFORMATTED = "The answer is \\boxed{42}"
PROMPT = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        max_items=3,
        max_items_in_flight=3,
        admission_wait_s=0,  # a 429 at once: the held slots below are never given back while a request waits
        max_completion_chars=2_000,
        math=MathSettings(workers=1, timeout_s=2.0),
        sandbox=SandboxSettings(backend="bwrap", workers=1),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_openrlhf_shapes(client: TestClient) -> None:
    body = {
        "query": [PROMPT + RIGHT + "<|im_end|>", PROMPT + WRONG + "<|im_end|><|endoftext|>", PROMPT + UNFORMATTED],
        "prompts": [PROMPT] * 3,
        "labels": ["42", "42", "42"],
    }
    response = client.post("/get_reward", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rewards": [2.0, 1.0, 1.0],  # special tokens stripped: the strict format holds
        "scores": [1.0, 0.0, 1.0],  # accuracy
        "extra_logs": {"format": [1.0, 1.0, 0.0], "accuracy": [1.0, 0.0, 1.0], "judged": [1.0, 1.0, 1.0]},
    }
    dapo = client.post("/get_reward", json={**body, "rewards": {"format": {}}}).json()
    assert dapo["scores"] == dapo["rewards"] == [1.0, 1.0, 0.0]  # no accuracy: scores are the reward


def test_openrlhf_empty_mismatched_and_over_limit(client: TestClient) -> None:
    empty = client.post("/get_reward", json={"query": [], "prompts": [], "labels": []})
    assert empty.status_code == 200 and empty.json() == {"rewards": [], "scores": [], "extra_logs": {"judged": []}}
    bad = client.post("/get_reward", json={"query": ["a", "b"], "prompts": ["a"], "labels": []})
    assert bad.status_code == 422 and bad.json() == {
        "code": "invalid_request",
        "detail": "prompts has 1 entries but query has 2",
        "errors": [{"field": "body", "message": "prompts has 1 entries but query has 2"}],
    }
    # The limits and their messages are /v1/score's.
    many = client.post("/get_reward", json={"query": ["a"] * 4})
    assert many.status_code == 413 and many.json() == {
        "code": "payload_too_large",
        "detail": "items: 4 items in one request, the limit is 3 (ARBITER_MAX_ITEMS); split the batch",
    }
    scored = client.post("/v1/score", json={"items": [{"id": str(i), "completion": "a"} for i in range(4)]})
    assert scored.status_code == 413 and scored.json() == many.json()
    long = client.post("/get_reward", json={"query": ["a", "y" * 2_001]})
    assert long.status_code == 413
    assert (
        long.json()["detail"] == "items.1.completion: 2001 characters, the limit is 2000 (ARBITER_MAX_COMPLETION_CHARS)"
    )


def test_slime_string_messages_and_broken_labels(client: TestClient) -> None:
    text = client.post("/slime/reward", json={"prompt": "6*7?", "response": RIGHT, "label": "42"})
    assert text.status_code == 200, text.text
    assert text.json() == {
        "reward": 2.0,
        "format": 1.0,
        "accuracy": 1.0,
        "components": {"format": 1.0, "accuracy": 1.0},
        "status": "ok",
        "reason": None,
        "judged": True,
    }
    messages = client.post(
        "/slime/reward",
        json={
            "prompt": [{"role": "user", "content": "6*7?"}],
            "response": [{"role": "assistant", "content": WRONG}],
            "label": "42",
        },
    ).json()
    assert messages["reward"] == 1.0 and messages["accuracy"] == 0.0
    # A label that is no valid reference (empty tests) costs its accuracy, not the request.
    broken = client.post(
        "/slime/reward", json={"prompt": "p", "response": RIGHT, "label": {"inputs": [], "outputs": []}}
    )
    assert broken.status_code == 200 and broken.json()["status"] == "error"
    # Nobody judged it: no component counts, not even format (issue 15); the keys stay for slime's reward key.
    assert broken.json()["judged"] is False and broken.json()["reward"] == 0.0
    assert broken.json()["format"] == 0.0 and broken.json()["accuracy"] == 0.0
    unknown = client.post("/slime/reward", json={"response": RIGHT, "label": "42", "rewards": {"nope": {}}})
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("rewards.nope: unknown reward")


def test_trainer_routes_share_the_admission_of_v1_score(client: TestClient) -> None:
    admission = client.app.state.admission  # type: ignore[attr-defined]
    # Hold two of the three slots, as a batch in flight would: a third item still fits, a second pair does not.
    held = admission.admit(2)
    portal = client.portal  # the app's event loop: the held slots live where the requests run
    assert portal is not None
    portal.call(held.__aenter__)
    try:
        refused = client.post("/get_reward", json={"query": ["a", "b"], "prompts": [], "labels": ["1", "1"]})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
        assert refused.json()["code"] == "overloaded" and "ARBITER_MAX_ITEMS_IN_FLIGHT" in refused.json()["detail"]
        assert client.post("/slime/reward", json={"response": RIGHT, "label": "42"}).status_code == 200
    finally:
        portal.call(held.__aexit__, None, None, None)
    assert admission.in_flight == 0
    assert client.post("/get_reward", json={"query": ["a", "b"], "labels": ["1", "1"]}).status_code == 200
