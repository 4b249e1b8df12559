"""GET /v1/rewards and profile selection through the real app (math workers, bubblewrap sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

ALL_REWARDS = {
    "accuracy",
    "format",
    "language",
    "length",
    "cosine",
    "overlong",
    "repetition",
    "reasoning_steps",
    "tag_count",
}
PROFILE_NAMES = "dapo, open-r1, r1, r1-zero"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        math=MathSettings(workers=1, timeout_s=2.0), sandbox=SandboxSettings(backend="bwrap", workers=1)
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _item(id_: str, think: str, answer: str, gold: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "completion": f"<think>{think}</think><answer>\\boxed{{{answer}}}</answer>",
        "reference": {"answer": gold},
        **extra,
    }


def _score(client: TestClient, items: list[dict[str, Any]], rewards: Any) -> list[dict[str, Any]]:
    response = client.post("/v1/score", json={"items": items, "rewards": rewards})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_catalogue_lists_every_reward_and_profile_with_defaults(client: TestClient) -> None:
    response = client.get("/v1/rewards")
    assert response.status_code == 200
    body = response.json()
    rewards = {r["name"]: r for r in body["rewards"]}
    assert set(rewards) == ALL_REWARDS
    assert rewards["overlong"]["defaults"] == {"weight": 1.0, "max_len": 20480, "cache": 4096, "unit": "auto"}
    assert rewards["accuracy"]["defaults"]["wrong_value"] == 0.0
    assert rewards["length"]["needs"] == ["accuracy"] and rewards["format"]["needs"] == []
    schema = rewards["repetition"]["parameters"]
    assert schema["properties"]["max_penalty"]["maximum"] == 0
    assert "description" in schema["properties"]["n"]
    assert all(r["description"] for r in body["rewards"])
    profiles = {p["name"]: p for p in body["profiles"]}
    assert set(profiles) == {"r1-zero", "r1", "dapo", "open-r1"}
    assert [p["name"] for p in body["profiles"] if p["default"]] == ["r1-zero"]
    assert profiles["dapo"]["rewards"]["accuracy"] == {"weight": 1.0, "wrong_value": -1.0}


def test_profile_by_name(client: TestClient) -> None:
    items = [_item("right", "We add.", "4", "4"), _item("wrong", "We add.", "5", "4")]
    dapo = _score(client, items, "dapo")
    assert [r["components"]["accuracy"] for r in dapo] == [1.0, -1.0]
    assert set(dapo[0]["components"]) == {"accuracy", "overlong"}
    assert dapo[0]["details"]["overlong"]["unit"] == "chars"
    r1 = _score(client, [_item("zh", "我们把两个数相加 and add", "4", "4")], "r1")
    assert set(r1[0]["components"]) == {"accuracy", "format", "language"}
    assert r1[0]["components"]["language"] == pytest.approx(2 / 10)  # 8 Han characters, 2 English words
    open_r1 = _score(client, items[:1], "open-r1")
    assert open_r1[0]["components"] == {"accuracy": 1.0, "format": 1.0, "tag_count": 1.0}


def test_profile_with_overrides_and_item_target_language(client: TestClient) -> None:
    items = [_item("zh", "我们相加", "4", "4", target_language="zh"), _item("en", "我们相加", "4", "4")]
    results = _score(client, items, {"profile": "r1", "language": {"weight": 2.0}})
    assert [r["components"]["language"] for r in results] == [1.0, 0.0]
    assert [r["reward"] for r in results] == [4.0, 2.0]


def test_dependent_reward_alone_gets_accuracy_at_weight_zero(client: TestClient) -> None:
    items = [_item("short", "a", "4", "4", group="p"), _item("long", "a" * 50, "4", "4", group="p")]
    results = _score(client, items, {"length": {}})
    assert [r["components"]["length"] for r in results] == [0.5, -0.5]
    assert [r["components"]["accuracy"] for r in results] == [1.0, 1.0]
    assert [r["reward"] for r in results] == [0.5, -0.5]


@pytest.mark.parametrize(
    ("rewards", "detail"),
    [
        ("r2", f"rewards: unknown profile 'r2'; valid profiles: {PROFILE_NAMES}"),
        ({"profile": "r2"}, f"rewards.profile: unknown profile 'r2'; valid profiles: {PROFILE_NAMES}"),
        (
            {"speed": {}},
            "rewards.speed: unknown reward; valid names: accuracy, cosine, format, language, length, "
            f"overlong, reasoning_steps, repetition, tag_count; or a profile: {PROFILE_NAMES}",
        ),
        ({"profile": "dapo", "overlong": {"cache": -1}}, "rewards.overlong.cache: Input should be greater than 0"),
        ({"language": {"target": "tlh"}}, "rewards.language.target: Value error, unsupported language 'tlh'"),
    ],
)
def test_unknown_names_are_422_listing_the_valid_ones(client: TestClient, rewards: Any, detail: str) -> None:
    response = client.post("/v1/score", json={"items": [_item("a", "t", "4", "4")], "rewards": rewards})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert response.json()["detail"].startswith(detail)
