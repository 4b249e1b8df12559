"""Profiles and dependent rewards in Pipeline.resolve / Pipeline.score, with fake rewards (no pools)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest
from pydantic import Field
from reward_items import item

from app.completion import TagConfig
from app.errors import InvalidRequest
from app.rewards.base import Component, RewardParams, ScoringItem, Upstream
from app.rewards.format import FormatReward
from app.rewards.language import LanguageReward
from app.rewards.length import LengthParams, LengthReward
from app.rewards.overlong import OverlongParams, OverlongReward
from app.rewards.pipeline import Pipeline
from app.rewards.profiles import PROFILES, Profile
from app.rewards.tag_count import TagCountReward


class FakeAccuracyParams(RewardParams):
    wrong_value: float = Field(0.0)


class FakeAccuracy:
    """Correct when the answer block says 'right'; counts its calls to prove dependents reuse its result."""

    name: ClassVar[str] = "accuracy"
    description: ClassVar[str] = "fake"
    Params: ClassVar[type[RewardParams]] = FakeAccuracyParams

    def __init__(self) -> None:
        self.calls = 0

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, FakeAccuracyParams)
        self.calls += 1
        return [Component(1.0 if i.parsed.answer == "right" else params.wrong_value) for i in items]


def _pipeline(accuracy: FakeAccuracy | None = None) -> Pipeline:
    tags = TagConfig()
    rewards = [
        accuracy or FakeAccuracy(),
        FormatReward(tags),
        LanguageReward(),
        LengthReward(),
        OverlongReward(),
        TagCountReward(tags),
    ]
    return Pipeline({r.name: r for r in rewards})


def test_every_profile_is_offered_and_resolves() -> None:
    pipeline = _pipeline()
    assert set(pipeline.profiles) == {"r1-zero", "r1", "dapo", "open-r1"}
    for name, profile in PROFILES.items():
        assert list(pipeline.resolve(name)) == list(profile.rewards)


def test_default_is_r1_zero() -> None:
    pipeline = _pipeline()
    assert pipeline.resolve(None) == pipeline.resolve("r1-zero")
    assert set(pipeline.resolve(None)) == {"accuracy", "format"}


def test_dapo_profile_sets_wrong_value_and_overlong() -> None:
    resolved = _pipeline().resolve("dapo")
    assert resolved["accuracy"] == FakeAccuracyParams(wrong_value=-1.0)
    assert resolved["overlong"] == OverlongParams(max_len=20480, cache=4096)
    assert "format" not in resolved


def test_overrides_merge_over_a_profile_key_by_key_and_add_rewards() -> None:
    resolved = _pipeline().resolve({"profile": "dapo", "overlong": {"max_len": 8192}, "format": {"weight": 0.5}})
    assert resolved["overlong"] == OverlongParams(max_len=8192, cache=4096)  # cache kept from the profile
    assert resolved["accuracy"] == FakeAccuracyParams(wrong_value=-1.0)
    assert resolved["format"].weight == 0.5


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("nope", "rewards: unknown profile 'nope'; valid profiles: dapo, open-r1, r1, r1-zero"),
        ({"profile": "nope"}, "rewards.profile: unknown profile 'nope'; valid profiles: dapo, open-r1, r1, r1-zero"),
        ({"profile": 3}, "rewards.profile: must be a profile name; valid profiles:"),
        (
            {"nope": {}},
            "rewards.nope: unknown reward; valid names: accuracy, format, language, length, overlong, "
            "tag_count; or a profile: dapo, open-r1, r1, r1-zero",
        ),
        ({"format": "strict"}, "rewards.format: expected an object of parameters"),
        ({"profile": "dapo", "overlong": {"cache": 30000}}, "rewards.overlong: Value error, cache (30000) must not"),
        ({"profile": "r1", "language": {"target": "xx"}}, "rewards.language.target: Value error, unsupported language"),
    ],
)
def test_invalid_selections_name_the_field_and_the_valid_choices(selection: object, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        _pipeline().resolve(selection)  # type: ignore[arg-type]
    assert message in err.value.detail


def test_a_dependency_left_out_is_added_with_weight_zero() -> None:
    resolved = _pipeline().resolve({"length": {}})
    assert list(resolved) == ["length", "accuracy"]
    assert resolved["accuracy"].weight == 0.0
    # Named explicitly, the request's weight stands.
    assert _pipeline().resolve({"length": {}, "accuracy": {"weight": 2}})["accuracy"].weight == 2.0


async def test_dependent_reward_reads_accuracy_computed_once() -> None:
    accuracy = FakeAccuracy()
    pipeline = _pipeline(accuracy)
    items = [
        item("<think>r</think><answer>right</answer>", index=0, group="g"),
        item("<think>rrrrrrrrrr</think><answer>right</answer>", index=1, group="g"),
        item("<think>" + "r" * 19 + "</think><answer>wrong</answer>", index=2, group="g"),
    ]
    outcomes = await pipeline.score(items, pipeline.resolve({"length": {}}))
    assert accuracy.calls == 1
    # lengths 38, 47, 56 characters: λ = 0.5, 0, -0.5; the third is wrong and keeps min(0, λ)
    assert [o.components["length"] for o in outcomes] == pytest.approx([0.5, 0.0, -0.5])
    assert [o.components["accuracy"] for o in outcomes] == [1.0, 1.0, 0.0]
    # accuracy is reported but weighs 0: the reward is the length component alone
    assert [o.reward for o in outcomes] == pytest.approx([0.5, 0.0, -0.5])


async def test_a_crashing_dependency_fails_its_dependents_as_error_not_the_batch() -> None:
    class Crashing(FakeAccuracy):
        async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
            raise RuntimeError("bug")

    pipeline = _pipeline(Crashing())
    outcomes = await pipeline.score([item("x", group="g")], pipeline.resolve({"length": {}, "format": {}}))
    assert outcomes[0].status == "error"
    assert outcomes[0].details["length"]["reason"] == "correctness unknown: accuracy is error"


class _NeedsMissing:
    name: ClassVar[str] = "orphan"
    description: ClassVar[str] = "needs a reward that is not there"
    Params: ClassVar[type[RewardParams]] = LengthParams
    needs: ClassVar[tuple[str, ...]] = ("ghost",)

    async def score(self, items: Sequence[ScoringItem], params: RewardParams, upstream: Upstream) -> list[Component]:
        return []


class _Cyclic(_NeedsMissing):
    name: ClassVar[str] = "cyclic"
    needs: ClassVar[tuple[str, ...]] = ("cyclic",)


def test_catalogue_errors_are_caught_at_construction() -> None:
    with pytest.raises(ValueError, match="orphan needs ghost"):
        Pipeline({"orphan": _NeedsMissing()})
    with pytest.raises(ValueError, match="cycle: cyclic -> cyclic"):
        Pipeline({"cyclic": _Cyclic()})


def test_an_invalid_profile_fails_at_construction() -> None:
    broken = Profile(name="broken", description="typo", rewards={"format": {"mood": "strict"}})
    with pytest.raises(ValueError, match="profile broken is invalid: rewards.format.mood"):
        Pipeline({"format": FormatReward(TagConfig())}, profiles={"broken": broken})
