"""Issue 11, items 1 and 3, through the real ASGI app: text that cannot be UTF-8 (lone surrogates) and numbers
that are not finite never cost a batch or put null where a number belongs; issue 15: unjudged items."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        math=MathSettings(workers=1, timeout_s=2.0), sandbox=SandboxSettings(backend="bwrap", workers=1)
    )
    with TestClient(create_app(settings)) as c:
        yield c


def post_raw(client: TestClient, path: str, body: str) -> Any:
    """Sends JSON text as written: `\\udc00` stays the escape a client's encoder writes (httpx's json= cannot)."""
    return client.post(path, content=body.encode("ascii"), headers={"content-type": "application/json"})


def test_lone_surrogates_in_completion_answer_and_id_do_not_fail_the_batch(client: TestClient) -> None:
    body = (
        '{"items": ['
        '{"id": "ok", "completion": "<think>\\nw\\n</think>\\n<answer>\\n\\\\boxed{2}\\n</answer>", '
        '"reference": {"answer": "2"}},'
        '{"id": "bad", "completion": "<think>\\nw\\n</think>\\n<answer>\\n\\\\boxed{\\udc00}\\n</answer>", '
        '"reference": {"answer": "\\ud800x"}}'
        "]}"
    )
    response = post_raw(client, "/v1/score", body)
    assert response.status_code == 200, response.text
    response.content.decode("utf-8")  # valid UTF-8 throughout
    good, bad = response.json()["results"]
    assert good["id"] == "ok" and good["reward"] == 2.0 and good["judged"] is True
    # The echoed text comes back exactly as sent (as escapes).
    assert "\\udc00" in response.text
    assert bad["details"]["accuracy"]["extracted"] == "\udc00"
    assert bad["judged"] is True and bad["components"]["accuracy"] == 0.0


def test_lone_surrogate_in_an_id_is_a_422_naming_it(client: TestClient) -> None:
    # Ids are the client's own (never model output); pydantic's bounded string refuses one that is not Unicode.
    response = post_raw(client, "/v1/score", '{"items": [{"id": "a\\udc00", "completion": "x"}]}')
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "items.0.id"


def test_lone_surrogate_echoed_in_an_error_detail_is_a_422_not_a_500(client: TestClient) -> None:
    items = '[{"id": "a", "completion": "x"}]'
    unknown = post_raw(client, "/v1/score", '{"items": ' + items + ', "rewards": {"f\\udc00rmat": {}}}')
    # pydantic refuses a dict key that is not Unicode; the 422 names the field and serializes.
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["field"].startswith("rewards")
    profile = post_raw(client, "/v1/score", '{"items": ' + items + ', "rewards": "r1\\udc00"}')
    assert profile.status_code == 422, profile.text
    assert profile.json()["detail"].startswith("rewards: unknown profile 'r1\\udc00'")
    extra = post_raw(client, "/v1/score", '{"items": [{"id": "a", "completion": "x", "\\udc00": 1}]}')
    assert extra.status_code == 422, extra.text
    assert extra.json()["errors"][0]["field"].startswith("items.0")


def test_lone_surrogate_on_the_trainer_routes(client: TestClient) -> None:
    slime = post_raw(client, "/slime/reward", '{"prompt": "p\\udc00", "response": "\\udc00", "label": "\\udc00"}')
    assert slime.status_code == 200, slime.text
    openrlhf = post_raw(client, "/get_reward", '{"query": ["q\\udc00 a"], "prompts": ["q\\udc00"], "labels": ["1"]}')
    assert openrlhf.status_code == 200, openrlhf.text
    assert openrlhf.json()["rewards"] == [0.0]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_weights_are_a_422_naming_the_field(client: TestClient, literal: str) -> None:
    # Python's JSON parser reads these literals; most encoders write them for float('nan').
    body = '{"items": [{"id": "a", "completion": "x"}], "rewards": {"format": {"weight": ' + literal + "}}}"
    response = post_raw(client, "/v1/score", body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "rewards.format.weight"
    assert "finite" in response.json()["detail"]


def test_non_finite_parameters_and_limits_are_a_422(client: TestClient) -> None:
    params = '{"items": [{"id": "a", "completion": "x"}], "rewards": {"accuracy": {"wrong_value": NaN}}}'
    assert post_raw(client, "/v1/score", params).status_code == 422
    limits = (
        '{"items": [{"id": "a", "completion": "x", "reference": {"tests": {"inputs": ["1"], "outputs": ["1"]}, '
        '"limits": {"cpu_s": Infinity}}}]}'
    )
    response = post_raw(client, "/v1/score", limits)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith("items.0.reference.limits.cpu_s")
    eps = '{"items": [{"id": "a", "completion": "x"}], "advantages": {"eps": Infinity}}'
    assert post_raw(client, "/v1/score", eps).status_code == 422


def test_an_overflowing_weighted_sum_is_an_item_error_and_advantages_stay_numbers(client: TestClient) -> None:
    right = R1.format("\\boxed{2}")
    items = [
        {"id": "right", "completion": right, "reference": {"answer": "2"}, "group": "g"},
        {"id": "wrong", "completion": R1.format("\\boxed{3}"), "reference": {"answer": "2"}, "group": "g"},
        {"id": "plain", "completion": "\\boxed{2}", "reference": {"answer": "2"}, "group": "g"},
    ]
    response = client.post(
        "/v1/score",
        json={
            "items": items,
            "rewards": {"format": {"weight": 1e308}, "accuracy": {"weight": 1e308}},
            "advantages": {"scale": "group"},
        },
    )
    assert response.status_code == 200, response.text
    assert "null" not in response.text.replace('"reason":null', "")
    right_r, wrong_r, plain_r = response.json()["results"]
    # format 1 + accuracy 1, each weighted 1e308: the sum overflows, the item is an error, never NaN or null.
    assert right_r["status"] == "error" and right_r["judged"] is False and right_r["reward"] == 0.0
    assert "overflow" in right_r["reason"]
    assert wrong_r["reward"] == 1e308 and plain_r["reward"] == 1e308
    for result in (right_r, wrong_r, plain_r):
        assert isinstance(result["advantage"], float) and math.isfinite(result["advantage"])
    assert right_r["advantage"] == 0.0
    # Two judged rewards equal: no signal.
    assert wrong_r["advantage"] == plain_r["advantage"] == 0.0


def test_huge_finite_rewards_give_finite_advantages(client: TestClient) -> None:
    items = [
        {"id": "right", "completion": "\\boxed{2}", "reference": {"answer": "2"}, "group": "g"},
        {"id": "wrong", "completion": "\\boxed{3}", "reference": {"answer": "2"}, "group": "g"},
    ]
    for scale in ("group", "batch", "none"):
        response = client.post(
            "/v1/score",
            json={"items": items, "rewards": {"accuracy": {"weight": 1.7e308}}, "advantages": {"scale": scale}},
        )
        assert response.status_code == 200, response.text
        advantages = [r["advantage"] for r in response.json()["results"]]
        assert all(isinstance(a, float) and math.isfinite(a) for a in advantages), (scale, advantages)
        assert advantages[0] > 0 > advantages[1]


def test_unjudged_items_get_no_component_at_all(client: TestClient) -> None:
    # Well formatted (format would be 1) but with nothing to judge it against: judged false, reward 0.
    items = [
        {"id": "nothing", "completion": R1.format("\\boxed{2}"), "group": "g"},
        {"id": "right", "completion": R1.format("\\boxed{2}"), "reference": {"answer": "2"}, "group": "g"},
        {"id": "wrong", "completion": R1.format("\\boxed{3}"), "reference": {"answer": "2"}, "group": "g"},
    ]
    response = client.post("/v1/score", json={"items": items, "advantages": {}})
    assert response.status_code == 200, response.text
    nothing, right, wrong = response.json()["results"]
    assert nothing["status"] == "error" and nothing["judged"] is False
    assert nothing["reward"] == 0.0 and nothing["components"] == {"format": 0.0, "accuracy": 0.0}
    assert nothing["details"]["format"]["value"] == 1.0
    assert nothing["advantage"] == 0.0
    assert right["judged"] and right["reward"] == 2.0 and wrong["judged"] and wrong["reward"] == 1.0
    # The unjudged row is out of the baseline: the two judged ones are +-1/sqrt(2) of a group of two.
    assert right["advantage"] == pytest.approx(1 / math.sqrt(2), rel=1e-5)


def test_a_completion_without_the_code_block_is_judged_wrong_not_unjudged(client: TestClient) -> None:
    item = {
        "id": "java",
        "completion": R1.format("```java\nclass A {}\n```"),
        "reference": {"tests": {"inputs": ["1"], "outputs": ["1"]}, "language": "python"},
    }
    [result] = client.post("/v1/score", json={"items": [item]}).json()["results"]
    # No python block to run: that is a wrong answer (judged), not an unjudged row.
    assert result["judged"] is True and result["status"] == "ok"


def test_a_trainer_label_in_an_unsupported_language_is_unjudged(client: TestClient) -> None:
    label = {"inputs": ["1"], "outputs": ["1"], "language": "haskell"}  # java runs since the languages merge
    answer = client.post(
        "/slime/reward", json={"response": R1.format("```haskell\nmain = pure ()\n```"), "label": label}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["judged"] is False and body["reward"] == 0.0 and body["format"] == 0.0


def test_response_is_strict_json(client: TestClient) -> None:
    body = '{"items": [{"id": "a", "completion": "\\boxed{\\ud83d}"}], "rewards": {"accuracy": {}}}'
    response = post_raw(client, "/v1/score", body)
    assert response.status_code == 200

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-JSON constant {constant} in the response")

    json.loads(response.content, parse_constant=refuse)
