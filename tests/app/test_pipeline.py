"""The pipeline combines components in request order; a crashing reward costs its component, not the batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest

from app.completion import parse_completion
from app.errors import InvalidRequest
from app.rewards.base import Component, RewardParams, ScoringItem
from app.rewards.pipeline import Pipeline


class LengthParams(RewardParams):
    scale: float = 1.0


class LengthReward:
    """Scores the completion's length; a status can be forced per item through the text."""

    name: ClassVar[str] = "length"
    description: ClassVar[str] = "test reward"
    Params: ClassVar[type[RewardParams]] = LengthParams

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, LengthParams)
        out = []
        for item in items:
            if item.parsed.text.startswith("timeout"):
                out.append(Component.failed("timeout", "too slow"))
            else:
                out.append(Component(len(item.parsed.text) * params.scale))
        return out


class CrashingReward:
    name: ClassVar[str] = "crash"
    description: ClassVar[str] = "always raises"
    Params: ClassVar[type[RewardParams]] = RewardParams

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        raise ZeroDivisionError("bug")


def _items(*texts: str) -> list[ScoringItem]:
    return [
        ScoringItem(index=i, id=f"i{i}", parsed=parse_completion(t), task=None, reference=None)
        for i, t in enumerate(texts)
    ]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline({"length": LengthReward(), "crash": CrashingReward()})


async def test_weighted_sum_in_request_order(pipeline: Pipeline) -> None:
    selection = pipeline.resolve({"length": {"weight": 0.5, "scale": 2.0}})
    outcomes = await pipeline.score(_items("ab", "abcd", "a"), selection)
    assert [o.id for o in outcomes] == ["i0", "i1", "i2"]
    assert [o.components["length"] for o in outcomes] == [4.0, 8.0, 2.0]
    assert [o.reward for o in outcomes] == [2.0, 4.0, 1.0]
    assert all(o.status == "ok" and o.reason is None for o in outcomes)


async def test_failed_component_scores_zero_with_reason(pipeline: Pipeline) -> None:
    outcomes = await pipeline.score(_items("timeout!", "ok"), pipeline.resolve({"length": {}}))
    assert outcomes[0].status == "timeout" and outcomes[0].reward == 0.0
    assert outcomes[0].reason == "length: too slow"
    assert outcomes[1].status == "ok" and outcomes[1].reward == 2.0


async def test_crashing_reward_costs_only_its_component(pipeline: Pipeline) -> None:
    outcomes = await pipeline.score(_items("abc"), pipeline.resolve({"length": {}, "crash": {}}))
    # The batch goes on; the item is not judged (one of its components is unknown), so nothing counts and the
    # component that did compute keeps its value in its details.
    assert outcomes[0].components == {"length": 0.0, "crash": 0.0}
    assert outcomes[0].reward == 0.0 and outcomes[0].judged is False
    assert outcomes[0].details["length"]["value"] == 3.0
    assert outcomes[0].status == "error" and "crash" in (outcomes[0].reason or "")


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"nope": {}}, "rewards.nope: unknown reward; valid names: crash, length"),
        ({"length": {"scale": "big"}}, "rewards.length.scale"),
        ({"length": {"colour": 1}}, "rewards.length.colour"),
        ({}, "rewards: empty"),
    ],
)
def test_resolve_names_the_faulty_field(pipeline: Pipeline, selection: dict, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        pipeline.resolve(selection)
    assert message in err.value.detail
