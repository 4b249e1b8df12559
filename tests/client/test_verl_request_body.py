"""What the verl adapter sends for rows as verl's datasets store them, read off an injected transport.

verl's sandbox_fusion code rows (verl/utils/reward_score/sandbox_fusion) keep their tests as `{"inputs", "outputs",
"fn_name"?, "assert_case"}`, a JSON string in `reward_model.ground_truth` or an object in `extra_info.tests`. The
adapter passes those fields through as the row stores them (the server accepts dataset rows as `reference.tests`),
without rewriting them: whether they are judged is the server's business.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from arbiter_client.adapters.verl import VerlScorer

ASSERT_ROW = {
    "inputs": ["", ""],
    "outputs": [None, None],
    "assert_case": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"],
}
PROGRAM = "<think>add</think><answer>\n```python\ndef add(a, b):\n    return a + b\n```\n</answer>"


class Recorder:
    """A fake Arbiter that keeps every request body and answers each item `ok`, or with the result it is given."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.result = result or {"reward": 2.0, "components": {"format": 1.0, "accuracy": 1.0}, "status": "ok"}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        return httpx.Response(200, json={"results": [{"id": i["id"], **self.result} for i in body["items"]]})


async def score(recorder: Recorder, *calls: tuple[str, Any, dict[str, Any] | None]) -> list[dict[str, float]]:
    scorer = VerlScorer("http://arbiter.test", transport=httpx.MockTransport(recorder))
    try:
        sources, truths, infos = zip(*calls, strict=True)
        return await scorer.compute_score_batch(list(sources), [PROGRAM] * len(calls), list(truths), list(infos))
    finally:
        await scorer.aclose()


async def test_sandbox_fusion_assert_case_in_ground_truth_goes_as_stored() -> None:
    recorder = Recorder()
    await score(recorder, ("codecontests", json.dumps(ASSERT_ROW), {"split": "train", "index": 3}))
    (item,) = recorder.bodies[0]["items"]
    assert item["task"] == "code"
    assert item["reference"] == {"language": "python", "tests": ASSERT_ROW}


async def test_sandbox_fusion_tests_in_extra_info_drop_parquets_none_keys() -> None:
    """A parquet struct holds every row's keys: an extra_info.tests of this row arrives with the keys of other
    rows set to None (here fn_name), which are absent from the row, not values of it."""
    recorder = Recorder()
    stored = {**ASSERT_ROW, "fn_name": None}
    await score(recorder, ("apps", "ignored when extra_info has tests", {"tests": stored, "index": 0}))
    (item,) = recorder.bodies[0]["items"]
    assert item["reference"]["tests"] == ASSERT_ROW


async def test_sandbox_fusion_rows_beside_math_and_io_rows_in_one_request() -> None:
    recorder = Recorder()
    io_row = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    await score(
        recorder,
        ("openai/gsm8k", "42", {"tests": None, "index": 0}),
        ("codecontests", json.dumps(io_row), {"tests": None, "index": 1}),
        ("codecontests", json.dumps(ASSERT_ROW), {"tests": None, "index": 2, "language": "python3"}),
    )
    assert len(recorder.bodies) == 1
    math, io, asserts = recorder.bodies[0]["items"]
    assert (math["task"], math["reference"]) == ("math", {"answer": "42"})
    assert (io["task"], io["reference"]) == ("code", {"language": "python", "tests": io_row})
    assert (asserts["task"], asserts["reference"]) == ("code", {"language": "python", "tests": ASSERT_ROW})


async def test_server_judged_false_is_unjudged_even_with_status_ok() -> None:
    """The server's `judged` field decides when present: no score and no components for such a row."""
    recorder = Recorder(
        {"reward": 1.0, "components": {"format": 1.0, "accuracy": 0.0}, "status": "ok", "judged": False}
    )
    (out,) = await score(recorder, ("codecontests", json.dumps(ASSERT_ROW), None))
    assert out == {"score": 0.0, "format": 0.0, "accuracy": 0.0, "arbiter_judged": 0.0}
