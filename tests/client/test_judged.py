"""`ScoreResult.judged`: the server's `judged` field when the response has it, else derived from `status`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from arbiter_client import ArbiterClient, ArbiterProtocolError, ScoreResult

OK = {"id": "0", "reward": 1.0, "components": {"format": 1.0, "accuracy": 0.0}}


@pytest.mark.parametrize(
    ("fields", "judged"),
    [
        # Without the field (servers before it): judged exactly when ok; a wrong answer is judged.
        ({"status": "ok"}, True),
        ({"status": "timeout"}, False),
        ({"status": "error"}, False),
        ({"status": "sandbox_unavailable"}, False),
        # With it: the field decides, whatever the status says.
        ({"status": "ok", "judged": True}, True),
        ({"status": "ok", "judged": False}, False),
        ({"status": "error", "judged": False}, False),
        ({"status": "ok", "judged": None}, True),
    ],
)
def test_judged_from_the_field_or_the_status(fields: dict[str, Any], judged: bool) -> None:
    assert ScoreResult.from_json({**OK, **fields}).judged is judged


def test_a_judged_that_is_not_a_boolean_is_a_protocol_error() -> None:
    with pytest.raises(ArbiterProtocolError, match="judged"):
        ScoreResult.from_json({**OK, "status": "ok", "judged": "no"})


def test_client_reads_the_field_off_the_wire_and_a_fallback_is_never_judged() -> None:
    statuses = [("ok", None), ("ok", False), ("timeout", None)]

    def handler(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        results = []
        for item, (status, judged) in zip(items, statuses, strict=True):
            result = {**OK, "id": item["id"], "status": status}
            if judged is not None:
                result["judged"] = judged
            results.append(result)
        return httpx.Response(200, json={"results": results})

    with ArbiterClient("http://arbiter.test", transport=httpx.MockTransport(handler)) as client:
        results = client.score([{"id": str(i), "completion": "x"} for i in range(3)])
    assert [r.judged for r in results] == [True, False, False]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with ArbiterClient(
        "http://arbiter.test", transport=httpx.MockTransport(refuse), errors="fallback", deadline_s=0.5, max_retries=0
    ) as client:
        with pytest.warns(match="fall"):
            (down,) = client.score([{"id": "0", "completion": "x"}])
    assert down.is_fallback and not down.judged
