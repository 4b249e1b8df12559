"""Each trainer adapter against a live Arbiter: payload shapes, both completion formats, dead server, deadline."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from adapter_helpers import Recording, running_arbiter  # type: ignore[import-not-found]

from arbiter_client import ArbiterAuthError, ArbiterClient, ArbiterFallbackWarning, AsyncArbiterClient
from arbiter_client.adapters import openrlhf, slime
from arbiter_client.adapters.trl import arbiter_reward_funcs
from arbiter_client.adapters.verl import VerlScorer, task_of

RIGHT = "<think>6 times 7</think><answer>42</answer>"
WRONG = "<think>guess</think><answer>41</answer>"
UNFORMATTED = "the answer is 42"
PY_TESTS = {"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]}
PY_RIGHT = "<think>add</think><answer>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```\n</answer>"


# ------------------------------------------------------------------------------------------------ TRL


async def test_trl_standard_completions_one_request_per_batch(arbiter_url: str) -> None:
    recording = Recording()
    funcs = arbiter_reward_funcs(client_factory=lambda: AsyncArbiterClient(arbiter_url, transport=recording))
    assert [f.__name__ for f in funcs] == ["arbiter_format", "arbiter_accuracy"]
    prompts = ["What is 6*7?"] * 3 + ["Say hi"]
    completions = [RIGHT, WRONG, UNFORMATTED, "<think>x</think><answer>hi</answer>"]
    kwargs = {"solution": ["42", "42", "42", None], "completion_ids": [[1]] * 4, "trainer_state": None}
    import asyncio

    fmt, acc = await asyncio.gather(*(f(prompts=prompts, completions=completions, **kwargs) for f in funcs))
    # Last row has no reference: nobody can judge its accuracy, so the server gives it no component at all
    # (judged: false, issue 15), not even format; this old adapter reads that as format 0.
    assert fmt == [1.0, 1.0, 0.0, 0.0]
    assert acc == [1.0, 0.0, 1.0, None]
    assert len(recording.bodies) == 1  # both functions shared one request
    items = recording.bodies[0]["items"]
    assert [i["completion"] for i in items] == completions
    assert items[0]["reference"] == {"answer": "42"} and items[0]["task"] == "math"
    assert "reference" not in items[3]
    assert items[0]["group"] == items[1]["group"] == items[2]["group"] != items[3]["group"]
    assert recording.bodies[0]["rewards"] == {"format": {"weight": 1.0}, "accuracy": {"weight": 1.0}}


async def test_trl_conversational_completions_and_code_rows(arbiter_url: str) -> None:
    funcs = arbiter_reward_funcs(arbiter_url, split_by_task=True)
    assert [f.__name__ for f in funcs] == ["arbiter_format", "arbiter_accuracy_math", "arbiter_accuracy_code"]
    prompts = [[{"role": "user", "content": "6*7?"}], [{"role": "user", "content": "add two numbers"}]]
    completions = [
        [{"role": "assistant", "content": RIGHT}],
        [{"role": "assistant", "content": [{"type": "text", "text": PY_RIGHT}]}],
    ]
    columns = {
        "answer": ["42", None],
        "verification_info": [
            None,
            json.dumps(
                {
                    "language": "python",
                    "test_cases": [
                        {"input": "1 2\n", "output": "3\n", "type": "stdin_stdout"},
                        {"input": "3 4\n", "output": "7\n"},
                    ],
                }
            ),
        ],
    }
    fmt = await funcs[0](prompts=prompts, completions=completions, **columns)
    math = await funcs[1](prompts=prompts, completions=completions, **columns)
    code = await funcs[2](prompts=prompts, completions=completions, **columns)
    assert fmt == [1.0, 1.0]
    assert math == [1.0, None]
    assert code == [None, 1.0]


async def test_trl_dead_server_falls_back_without_raising(dead_url: str) -> None:
    funcs = arbiter_reward_funcs(dead_url, deadline_s=2, backoff_base_s=0.01, fallback_reward=-0.5)
    metrics: dict[str, float] = {}
    with pytest.warns(ArbiterFallbackWarning):
        fmt = await funcs[0](
            prompts=["p", "p"], completions=[RIGHT, WRONG], solution=["42", "42"], log_metric=metrics.__setitem__
        )
    assert fmt == [-0.5, -0.5]
    assert metrics == {"arbiter/fallback_frac": 1.0}
    funcs = arbiter_reward_funcs(dead_url, deadline_s=1, backoff_base_s=0.01, fallback_as_none=True)
    with pytest.warns(ArbiterFallbackWarning):
        assert await funcs[1](prompts=["p"], completions=[RIGHT], solution=["42"]) == [None]


async def test_trl_deadline_against_a_server_that_never_answers(black_hole_url: str) -> None:
    funcs = arbiter_reward_funcs(black_hole_url, deadline_s=0.5)
    start = time.monotonic()
    with pytest.warns(ArbiterFallbackWarning, match="deadline"):
        values = await funcs[1](prompts=["p"] * 3, completions=[RIGHT] * 3, solution=["42"] * 3)
    assert time.monotonic() - start < 2.0
    assert values == [0.0, 0.0, 0.0]


async def test_trl_unjudged_rows_are_none_for_every_component() -> None:
    """A server whose sandbox is down (docker backend, an image that does not exist): code rows come back
    sandbox_unavailable, and TRL gets None for every component of them (no format reward for an unjudged row),
    while the math row beside them is judged as usual."""
    env = {"ARBITER_SANDBOX_BACKEND": "docker", "ARBITER_SANDBOX_IMAGE": "arbiter-sandbox:absent-for-tests"}
    with running_arbiter(**env) as url:
        funcs = arbiter_reward_funcs(url)
        columns = {"answer": ["42", None], "tests": [None, json.dumps(PY_TESTS)]}
        import asyncio

        fmt, acc = await asyncio.gather(
            *(f(prompts=["p", "q"], completions=[RIGHT, PY_RIGHT], **columns) for f in funcs)
        )
    assert fmt == [1.0, None]
    assert acc == [1.0, None]


# ------------------------------------------------------------------------------------------------ verl


def test_verl_data_sources_map_to_tasks() -> None:
    assert task_of("openai/gsm8k") == "math"
    assert task_of("lighteval/MATH") == "math"
    assert task_of("HuggingFaceH4/MATH-500") == "math"
    assert task_of("aime2024") == "math"
    assert {task_of(s) for s in ("codecontests", "apps", "taco")} == {"code"}
    assert task_of("my_private_set") is None


async def test_verl_compute_score_per_rollout_calls_are_batched(arbiter_url: str) -> None:
    recording = Recording()
    scorer = VerlScorer(arbiter_url, transport=recording)
    import asyncio

    calls = [
        scorer.compute_score("openai/gsm8k", RIGHT, "42", extra_info={"index": 7, "split": "train"}),
        scorer.compute_score("lighteval/MATH", WRONG, "42", extra_info={"index": 8, "tests": None, "language": None}),
        scorer.compute_score("apps", PY_RIGHT, json.dumps(PY_TESTS), extra_info={"index": 9}),
        scorer.compute_score("unknown_source", RIGHT, "42"),
    ]
    right, wrong, code, unknown = await asyncio.gather(*calls)
    await scorer.aclose()
    assert right == {"score": 2.0, "format": 1.0, "accuracy": 1.0, "arbiter_judged": 1.0}
    assert wrong == {"score": 1.0, "format": 1.0, "accuracy": 0.0, "arbiter_judged": 1.0}
    assert code["score"] == 2.0 and unknown["score"] == 2.0
    assert len(recording.bodies) == 1  # four concurrent calls, one request
    items = recording.bodies[0]["items"]
    assert items[1]["task"] == "math"  # tests: None (a parquet-merged key) is read as absent
    assert items[0]["group"] == "openai/gsm8k:7"


async def test_verl_reward_kwargs_are_honoured_and_checked(arbiter_url: str) -> None:
    recording = Recording()
    scorer = VerlScorer(arbiter_url, transport=recording)
    out = await scorer.compute_score(
        "openai/gsm8k",
        UNFORMATTED,
        "42",
        rewards={"accuracy": {"weight": 2.0}},
        components=["accuracy"],
        unjudged_score=-1.0,
    )
    assert out == {"score": 2.0, "accuracy": 1.0, "arbiter_judged": 1.0}
    assert recording.bodies[-1]["rewards"] == {"accuracy": {"weight": 2.0}}
    # A row nobody could judge (no usable tests): the documented unjudged score, the same keys, no format reward.
    broken = await scorer.compute_score("apps", PY_RIGHT, "{not json", unjudged_score=-1.0)
    assert broken == {"score": -1.0, "format": 0.0, "accuracy": 0.0, "arbiter_judged": 0.0}
    with pytest.raises(TypeError, match="unknown reward_kwargs"):
        await scorer.compute_score("openai/gsm8k", RIGHT, "42", weight=2)
    await scorer.aclose()


async def test_verl_dead_server_scores_fallback(dead_url: str) -> None:
    scorer = VerlScorer(dead_url, deadline_s=1, backoff_base_s=0.01)
    with pytest.warns(ArbiterFallbackWarning):
        out = await scorer.compute_score("openai/gsm8k", RIGHT, "42")
    await scorer.aclose()
    assert out == {"score": 0.0, "format": 0.0, "accuracy": 0.0, "arbiter_judged": 0.0}


# ------------------------------------------------------------------------------------------------ OpenRLHF


def test_openrlhf_get_reward_shapes(arbiter_url: str) -> None:
    prompt = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"
    body = {
        "query": [prompt + RIGHT + "<|im_end|>", prompt + WRONG + "<|im_end|><|endoftext|>", prompt + UNFORMATTED],
        "prompts": [prompt] * 3,
        "labels": ["42", "42", "42"],
    }
    response = httpx.post(f"{arbiter_url}/get_reward", json=body, timeout=30)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["rewards"] == [2.0, 1.0, 1.0]  # special tokens stripped: the strict format holds
    assert data["scores"] == [1.0, 0.0, 1.0]  # accuracy
    assert data["extra_logs"] == {"format": [1.0, 1.0, 0.0], "accuracy": [1.0, 0.0, 1.0], "judged": [1.0, 1.0, 1.0]}


def test_openrlhf_empty_and_mismatched_requests(arbiter_url: str) -> None:
    empty = httpx.post(f"{arbiter_url}/get_reward", json={"query": [], "prompts": [], "labels": []}, timeout=10)
    assert empty.status_code == 200 and empty.json() == {"rewards": [], "scores": [], "extra_logs": {"judged": []}}
    bad = httpx.post(
        f"{arbiter_url}/get_reward", json={"query": ["a", "b"], "prompts": ["a"], "labels": []}, timeout=10
    )
    assert bad.status_code == 422 and "prompts has 1 entries" in bad.json()["detail"]


def test_openrlhf_file_reward_func(arbiter_url: str, dead_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openrlhf, "_client", None)
    monkeypatch.setattr(openrlhf, "_batcher", None)
    monkeypatch.setenv("ARBITER_URL", arbiter_url)
    out = openrlhf.reward_func(["Q:" + RIGHT], ["Q:"], ["42"])
    assert out["rewards"].tolist() == [2.0]  # tensors: torch is installed with the TRL extra
    monkeypatch.setattr(openrlhf, "_client", None)
    monkeypatch.setattr(openrlhf, "_batcher", None)
    monkeypatch.setenv("ARBITER_URL", dead_url)
    monkeypatch.setenv("ARBITER_DEADLINE_S", "1")
    with pytest.warns(ArbiterFallbackWarning):
        out = openrlhf.reward_func(["Q:" + RIGHT], ["Q:"], ["42"])
    assert out["rewards"].tolist() == [0.0]
    openrlhf._get_client().close()


# ------------------------------------------------------------------------------------------------ slime


def test_slime_endpoint_string_and_message_responses(arbiter_url: str) -> None:
    text = httpx.post(
        f"{arbiter_url}/slime/reward", json={"prompt": "6*7?", "response": RIGHT, "label": "42"}, timeout=30
    )
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
    messages = httpx.post(
        f"{arbiter_url}/slime/reward",
        timeout=30,
        json={
            "prompt": [{"role": "user", "content": "6*7?"}],
            "response": [{"role": "assistant", "content": WRONG}],
            "label": "42",
        },
    )
    assert messages.json()["reward"] == 1.0 and messages.json()["accuracy"] == 0.0
    # A label that is no valid reference (empty tests) costs its accuracy, not the request.
    broken = httpx.post(
        f"{arbiter_url}/slime/reward",
        timeout=30,
        json={"prompt": "p", "response": RIGHT, "label": {"inputs": [], "outputs": []}},
    )
    assert broken.status_code == 200 and broken.json()["status"] == "error"


async def test_slime_custom_rm_functions(arbiter_url: str, dead_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Sample:
        def __init__(self, response: str, label: str) -> None:
            self.prompt, self.response, self.label = "6*7?", response, label

    monkeypatch.setattr(slime, "_clients", {})
    monkeypatch.setattr(slime, "_batchers", {})
    monkeypatch.setenv("ARBITER_URL", arbiter_url)
    assert (await slime.arbiter_rm(None, Sample(RIGHT, "42")))["reward"] == 2.0
    group = await slime.arbiter_group_rm(None, [Sample(RIGHT, "42"), Sample(WRONG, "42")])
    assert [g["accuracy"] for g in group] == [1.0, 0.0]
    monkeypatch.setattr(slime, "_clients", {})
    monkeypatch.setattr(slime, "_batchers", {})
    monkeypatch.setenv("ARBITER_URL", dead_url)
    monkeypatch.setenv("ARBITER_DEADLINE_S", "1")
    with pytest.warns(ArbiterFallbackWarning):
        out = await slime.arbiter_rm(None, Sample(RIGHT, "42"))
    assert out["reward"] == 0.0 and out["status"] == "fallback"


# ------------------------------------------------------------------------------------------------ advantages


def test_score_route_returns_group_advantages(arbiter_url: str) -> None:
    items = [
        {"id": str(i), "completion": c, "reference": {"answer": "42"}, "group": "g"}
        for i, c in enumerate([RIGHT, WRONG, WRONG, UNFORMATTED])
    ]
    body = {"items": items, "advantages": {"scale": "none"}}
    results = httpx.post(f"{arbiter_url}/v1/score", json=body, timeout=30).json()["results"]
    # rewards 2, 1, 1, 1 → mean 1.25 → Dr. GRPO advantages r - mean
    assert [r["advantage"] for r in results] == [0.75, -0.25, -0.25, -0.25]
    plain = httpx.post(f"{arbiter_url}/v1/score", json={"items": items}, timeout=30).json()["results"]
    assert all(r["advantage"] is None for r in plain)


def test_client_advantages_are_the_servers_across_chunks(arbiter_url: str) -> None:
    """chunk_size 2 with groups of 4: the client keeps each group in one request, so the advantages it returns are
    the server's over whole groups, the same as one request of the whole batch."""
    completions = [RIGHT, WRONG, WRONG, UNFORMATTED, RIGHT, RIGHT, WRONG, RIGHT]
    items = [
        {"id": str(i), "completion": c, "reference": {"answer": "42"}, "group": f"g{i // 4}"}
        for i, c in enumerate(completions)
    ]
    whole = httpx.post(
        f"{arbiter_url}/v1/score", json={"items": items, "advantages": {"scale": "group"}}, timeout=30
    ).json()["results"]
    with ArbiterClient(arbiter_url, chunk_size=2) as client:
        results = client.score(items, advantages="group")
    assert [r.advantage for r in results] == [r["advantage"] for r in whole]
    assert results[0].advantage is not None and results[0].advantage > 0 > (results[1].advantage or 0)


# ------------------------------------------------------------------------------------------------ API keys


def test_client_api_key_against_a_keyed_server() -> None:
    with running_arbiter(ARBITER_API_KEYS="s3cret,other") as url:
        item = {"id": "a", "completion": RIGHT, "reference": {"answer": "42"}}
        with ArbiterClient(url, api_key="s3cret") as client:
            assert client.score([item])[0].reward == 2.0
        with ArbiterClient(url) as client, pytest.raises(ArbiterAuthError, match="missing API key"):
            client.score([item])
        with ArbiterClient(url, api_key="wrong") as client, pytest.raises(ArbiterAuthError, match="invalid API key"):
            client.score([item])


# ------------------------------------------------------------------------------------------------ deadline, every adapter


async def test_every_adapter_returns_by_its_deadline_when_the_server_hangs(
    black_hole_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch  # noqa: F401  # imported first, as inside OpenRLHF: its 2-3 s cold import is not the adapter's time

    monkeypatch.setenv("ARBITER_URL", black_hole_url)
    monkeypatch.setenv("ARBITER_DEADLINE_S", "0.5")
    monkeypatch.setattr(openrlhf, "_client", None)
    monkeypatch.setattr(openrlhf, "_batcher", None)
    monkeypatch.setattr(slime, "_clients", {})
    monkeypatch.setattr(slime, "_batchers", {})
    scorer = VerlScorer(black_hole_url, deadline_s=0.5)

    class Sample:
        prompt, response, label = "p", RIGHT, "42"

    timings: dict[str, float] = {}
    with pytest.warns(ArbiterFallbackWarning):
        start = time.monotonic()
        batch = await scorer.compute_score_batch(["openai/gsm8k"] * 2, [RIGHT] * 2, ["42"] * 2, [None] * 2)
        timings["verl batch"] = time.monotonic() - start
        start = time.monotonic()
        single = await scorer.compute_score("openai/gsm8k", RIGHT, "42")
        timings["verl async"] = time.monotonic() - start
        start = time.monotonic()
        orlhf = openrlhf.reward_func(["q" + RIGHT], ["q"], ["42"])
        timings["openrlhf"] = time.monotonic() - start
        start = time.monotonic()
        sl = await slime.arbiter_rm(None, Sample())
        timings["slime"] = time.monotonic() - start
    await scorer.aclose()
    openrlhf._get_client().close()
    assert all(t < 2.0 for t in timings.values()), timings
    assert [b["score"] for b in batch] == [0.0, 0.0] and single["score"] == 0.0
    assert orlhf["rewards"].tolist() == [0.0] and sl["reward"] == 0.0 and sl["status"] == "fallback"
