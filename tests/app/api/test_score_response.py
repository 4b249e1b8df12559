"""/v1/score writes its results as plain dicts (app/api/routes.py item_result) and encodes them with pydantic-core
(app/api/json_response.py): the bytes must read back as exactly what the ItemResult model would have sent."""

from __future__ import annotations

import json
import typing

import pytest

from app.api.json_response import EchoSafeJSONResponse
from app.api.routes import item_result
from app.api.schemas import ItemResult, ScoreResponse
from app.rewards.base import Status
from app.rewards.pipeline import ItemOutcome

OUTCOMES = [
    ItemOutcome("a", 2.0, {"format": 1.0, "accuracy": 1.0}, "ok", None, {"accuracy": {"method": "numeric"}}),
    # an int where the schema says float (a reward's 1 instead of 1.0) must still go out as a float
    ItemOutcome("b", 1, {"format": 1, "accuracy": 0}, "ok", None, {"accuracy": {"extracted": ["1", "-2"]}}),
    ItemOutcome("c", 0.0, {"accuracy": 0.0}, "timeout", "accuracy: too slow", {"accuracy": {}}, judged=False),
    # free-form details: a tuple becomes a list, a NaN becomes null (as the model's serializer writes them)
    ItemOutcome("d\u00e9", 0.5, {"accuracy": 0.5}, "ok", None, {"x": {"t": (1, 2), "nan": float("nan")}}),
]


@pytest.mark.parametrize("advantage", [None, 0.25, 1])
@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: o.id)
def test_item_result_reads_as_the_model_would_write_it(outcome, advantage):
    d = item_result(outcome, advantage)
    model = ItemResult(
        id=outcome.id,
        reward=outcome.reward,
        components=outcome.components,
        status=outcome.status,
        judged=outcome.judged,
        reason=outcome.reason,
        details=outcome.details,
        advantage=advantage,
    )
    fast = json.loads(EchoSafeJSONResponse({"results": [d]}).body)
    slow = json.loads(EchoSafeJSONResponse(ScoreResponse(results=[model]).model_dump(mode="json")).body)
    assert fast == slow
    # the same keys in the same order, and the same JSON types (1.0, not 1)
    assert list(fast["results"][0]) == list(ItemResult.model_fields)
    assert json.dumps(fast) == json.dumps(slow)
    ItemResult.model_validate(fast["results"][0])


def test_statuses_of_outcomes_are_the_schemas():
    assert set(typing.get_args(Status)) == set(typing.get_args(ItemResult.model_fields["status"].annotation))


def test_lone_surrogate_falls_back_to_escapes():
    body = EchoSafeJSONResponse({"id": "\udc00", "x": float("inf")}).body
    assert body == b'{"id":"\\udc00","x":null}'
    assert json.loads(body) == {"id": "\udc00", "x": None}
