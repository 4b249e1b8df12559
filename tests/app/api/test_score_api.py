"""The scoring API through the real ASGI app: real math workers, real bubblewrap sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"


def math_item(id_: str, answer_block: str, gold: Any) -> dict[str, Any]:
    return {"id": id_, "completion": R1.format(answer_block), "reference": {"answer": gold}}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        max_items=64,
        max_completion_chars=10_000,
        math=MathSettings(workers=2, timeout_s=1.0),
        sandbox=SandboxSettings(backend="bwrap", workers=1),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def score(client: TestClient, items: list[dict[str, Any]], rewards: dict[str, Any] | None = None) -> list[dict]:
    body: dict[str, Any] = {"items": items}
    if rewards is not None:
        body["rewards"] = rewards
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_issue_example(client: TestClient) -> None:
    [result] = score(
        client,
        [math_item("q1-s0", "The answer is \\boxed{\\frac{1}{2}}", "0.5")],
        {"format": {"weight": 1.0}, "accuracy": {"weight": 1.0}},
    )
    assert result["id"] == "q1-s0"
    assert result["reward"] == 2.0
    assert result["components"] == {"format": 1.0, "accuracy": 1.0}
    assert result["status"] == "ok"
    assert result["details"]["accuracy"]["extracted"] == "\\frac{1}{2}"
    assert result["details"]["accuracy"]["gold"] == "0.5"
    assert result["details"]["accuracy"]["method"]


def test_default_rewards_and_weights(client: TestClient) -> None:
    item = {"id": "a", "completion": "The answer is \\boxed{4}", "reference": {"answer": ["4", "four"]}}
    [default] = score(client, [item])
    assert default["components"] == {"format": 0.0, "accuracy": 1.0}
    assert default["details"]["format"]["reason"] == "missing <think> block"
    [weighted] = score(client, [item], {"accuracy": {"weight": 0.5}})
    assert weighted["reward"] == 0.5 and weighted["components"] == {"accuracy": 1.0}


def test_results_in_request_order_with_wrong_and_hedged(client: TestClient) -> None:
    items = [
        math_item("right", "\\boxed{12}", "12"),
        math_item("wrong", "\\boxed{13}", "12"),
        math_item("hedged", "\\boxed{12} or \\boxed{13}", "12"),
        math_item("none", "I do not know", "12"),
        math_item("right-again", "$12$", "12"),
    ]
    results = score(client, items, {"accuracy": {}})
    assert [r["id"] for r in results] == ["right", "wrong", "hedged", "none", "right-again"]
    assert [r["components"]["accuracy"] for r in results] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert all(r["status"] == "ok" for r in results)
    assert "hedg" in results[2]["details"]["accuracy"]["reason"]


def test_timeout_is_per_item(client: TestClient) -> None:
    items = [math_item("tower", "\\boxed{5^{5^{5^{5}}}}", "3"), math_item("fine", "\\boxed{3}", "3")]
    results = score(client, items, {"accuracy": {}})
    assert results[0]["status"] == "timeout" and results[0]["reward"] == 0.0 and results[0]["reason"]
    assert results[1]["status"] == "ok" and results[1]["reward"] == 1.0


def test_reference_without_answer_or_tests_is_an_item_error(client: TestClient) -> None:
    results = score(client, [{"id": "x", "completion": "\\boxed{1}"}, math_item("y", "\\boxed{1}", "1")])
    assert results[0]["status"] == "error" and "neither" in results[0]["reason"]
    assert results[1]["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"items": [{"id": "a"}]}, "items.0.completion: Field required"),
        ({"items": [{"id": "a", "completion": 3}]}, "items.0.completion"),
        ({}, "items: Field required"),
        ({"items": [], "rewards": {"nope": {}}}, "rewards.nope: unknown reward; valid names:"),
        ({"items": [], "rewards": {"accuracy": {"mode": "half"}}}, "rewards.accuracy.mode"),
        ({"items": [{"id": "a", "completion": "", "reference": {"answer": []}}]}, "items.0.reference.answer"),
        (
            {
                "items": [
                    {"id": "a", "completion": "", "reference": {"answer": "1", "tests": [{"input": "", "output": ""}]}}
                ]
            },
            "items.0.reference: has both answer and tests",
        ),
        (
            {"items": [{"id": "a", "completion": "", "reference": {"tests": {"inputs": ["1"], "outputs": []}}}]},
            "inputs has 1 entries but outputs has 0",
        ),
    ],
)
def test_malformed_request_is_422_naming_the_field(client: TestClient, body: dict, fragment: str) -> None:
    response = client.post("/v1/score", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    assert response.json()["code"] == "invalid_request"


def test_limits_are_413(client: TestClient) -> None:
    too_many = client.post("/v1/score", json={"items": [math_item(str(i), "1", "1") for i in range(65)]})
    assert too_many.status_code == 413 and "ARBITER_MAX_ITEMS" in too_many.json()["detail"]
    too_long = client.post("/v1/score", json={"items": [math_item("a", "x" * 10_001, "1")]})
    assert too_long.status_code == 413 and "items.0.completion" in too_long.json()["detail"]


def test_health_readiness_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["sandbox"]["backend"] == "bwrap"
    assert client.get("/docs").status_code == 200
    assert "/v1/score" in client.get("/openapi.json").json()["paths"]


CODE = "<think>sum</think>\n<answer>\n```python\n{}\n```\n</answer>"
SUM_TESTS = {"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]}


def code_item(id_: str, program: str, tests: Any, **reference: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "completion": CODE.format(program),
        "reference": {"language": "python", "tests": tests, **reference},
    }


def test_code_item_pass_fraction_and_all_or_nothing(client: TestClient) -> None:
    right = code_item(
        "right", "print(sum(map(int, input().split())))", SUM_TESTS, limits={"cpu_s": 2, "memory_mb": 256}
    )
    half = code_item("half", "a, b = map(int, input().split())\nprint(3)", SUM_TESTS)
    results = score(client, [right, half], {"accuracy": {}})
    assert results[0]["components"]["accuracy"] == 1.0
    assert results[0]["details"]["accuracy"]["verdicts"] == ["AC", "AC"]
    assert results[1]["components"]["accuracy"] == 0.5
    assert results[1]["details"]["accuracy"]["first_failure"]["verdict"] == "WA"
    binary = score(client, [half], {"accuracy": {"mode": "all_or_nothing"}})
    assert binary[0]["components"]["accuracy"] == 0.0


@pytest.mark.parametrize(
    ("program", "tests", "expected"),
    [
        # open-r1 list style
        ("print(input()[::-1])", [{"type": "stdin_stdout", "input": "abc\n", "output": "cba\n"}], 1.0),
        # call-based, APPS style (JSON arguments) and class Solution
        ("def add(a, b):\n    return a + b", {"fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [3, 7]}, 1.0),
        (
            "class Solution:\n    def add(self, a, b):\n        return a + b",
            {"fn_name": "add", "inputs": [[1, 2]], "outputs": [3]},
            1.0,
        ),
        # APPS / TACO wrap the expected return in a one-element list
        ("def double(a):\n    return a * 2", {"fn_name": "double", "inputs": [[1], [2]], "outputs": [[2], 4]}, 1.0),
        ("def pair(a):\n    return [a, a]", {"fn_name": "pair", "inputs": [[1]], "outputs": [[[1, 1]]]}, 1.0),
        ("def pair(a):\n    return [a, a]", {"fn_name": "pair", "inputs": [[1]], "outputs": [[1, 2]]}, 0.0),
        # call-based, LiveCodeBench style (one JSON value per line)
        ("def f(xs, k):\n    return sum(xs) * k", {"fn_name": "f", "inputs": ["[1, 2]\n3"], "outputs": ["9"]}, 1.0),
        # assert-based, HumanEval style
        (
            "def add(a, b):\n    return a + b",
            {"test_code": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"},
            1.0,
        ),
        (
            "def add(a, b):\n    return a - b",
            {"test_code": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"},
            0.0,
        ),
    ],
)
def test_code_test_formats(client: TestClient, program: str, tests: Any, expected: float) -> None:
    [result] = score(client, [code_item("c", program, tests)], {"accuracy": {}})
    assert result["status"] == "ok", result
    assert result["components"]["accuracy"] == expected, result["details"]


def test_code_without_block_scores_zero_with_reason(client: TestClient) -> None:
    item = {"id": "n", "completion": "<think>x</think><answer>print(1)</answer>", "reference": {"tests": SUM_TESTS}}
    [result] = score(client, [item], {"accuracy": {}})
    assert result["status"] == "ok" and result["reward"] == 0.0
    assert "no ```python code block" in result["details"]["accuracy"]["reason"]


def test_mixed_batch_math_and_code(client: TestClient) -> None:
    items = [math_item("m", "\\boxed{2}", "2"), code_item("c", "print(sum(map(int, input().split())))", SUM_TESTS)]
    results = score(client, items)
    assert [r["reward"] for r in results] == [2.0, 2.0]


def test_sandbox_unavailable_is_its_own_status() -> None:
    settings = Settings(
        math=MathSettings(workers=1), sandbox=SandboxSettings(backend="docker", image="arbiter-no-such-image:0")
    )
    with TestClient(create_app(settings)) as c:
        [result] = score(c, [code_item("c", "print(1)", SUM_TESTS)], {"accuracy": {}})
        assert result["status"] == "sandbox_unavailable"
        assert result["reason"]
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        # math keeps working without a sandbox
        [maths] = score(c, [math_item("m", "\\boxed{2}", "2")], {"accuracy": {}})
        assert maths["status"] == "ok" and maths["reward"] == 1.0


def test_all_or_nothing_stops_at_the_first_failure(client: TestClient) -> None:
    tests = {"inputs": ["1\n", "2\n", "3\n"], "outputs": ["1\n", "2\n", "3\n"]}
    loop = code_item("loop", "while True: pass", tests, limits={"cpu_s": 0.3})
    [binary] = score(client, [loop], {"accuracy": {"mode": "all_or_nothing"}})
    assert binary["status"] == "ok" and binary["components"]["accuracy"] == 0.0
    assert binary["details"]["accuracy"]["verdicts"] == ["TLE", "SKIP", "SKIP"]
    # pass_fraction needs every test's verdict: nothing is skipped
    [fraction] = score(client, [loop], {"accuracy": {}})
    assert fraction["details"]["accuracy"]["verdicts"] == ["TLE", "TLE", "TLE"]
