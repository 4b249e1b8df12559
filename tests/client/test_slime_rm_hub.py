"""The slime adapter as slime calls it: `--custom-rm-path` per sample and with `--group-rm`, and `remote_rm`'s
`{prompt, response, label}` POST to the service, against a live Arbiter, through a reproduction of slime's reward hub.

How slime calls a reward model, reproduced for the tests, because slime cannot be installed here.

slime (THUDM/slime) is not on PyPI (the `slime` there is an unrelated statistics package) and is installed from
its repository with Megatron and SGLang, which this machine cannot do. What the adapter depends on is small and
is written here after slime's slime/rollout/rm_hub/__init__.py, slime/utils/misc.py (`load_function`) and
slime/rollout/sglang_rollout.py (`generate_and_rm_group`), as read in slime's main branch:

- `--custom-rm-path a.b.fn` is loaded by `rpartition(".")`, `importlib.import_module` and `getattr`;
- without `--group-rm`, each sample is scored by `async_rm(args, sample)`, which awaits `fn(args, sample)`; the
  samples of a group are generated and scored concurrently (`asyncio.gather` over `generate_and_rm`);
- with `--group-rm`, `batched_async_rm(args, group)` awaits `fn(args, samples)` once per group and the rewards are
  zipped back onto the samples in order;
- `--rm-type remote_rm --rm-url URL` POSTs `{"prompt", "response", "label"}` with aiohttp and takes the JSON answer
  as the reward, raising after its retries;
- a dict reward is read through `--reward-key` (`sample.reward[args.reward_key]`).
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from arbiter_client.adapters import slime


@dataclass
class Sample:
    """The fields of slime's Sample (slime/utils/types.py) that reward models read."""

    prompt: str | list[dict[str, str]]
    response: str
    label: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    custom_rm_path: str | None = None
    reward: Any = None


@dataclass
class Args:
    """The command-line arguments slime's reward hub reads."""

    custom_rm_path: str | None = None
    group_rm: bool = False
    rm_type: str | None = None
    rm_url: str | None = None
    reward_key: str | None = None


def load_function(path: str) -> Callable[..., Any]:
    module_name, _, name = path.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), name)
    return function


async def remote_rm(args: Args, sample: Sample, max_retries: int = 3) -> Any:
    assert args.rm_url is not None
    payload = {"prompt": sample.prompt, "response": sample.response, "label": sample.label}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for attempt in range(max_retries):
            try:
                async with session.post(args.rm_url, json=payload) as response:
                    response.raise_for_status()
                    return await response.json()
            except aiohttp.ClientError:
                if attempt + 1 >= max_retries:
                    raise
                await asyncio.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


async def async_rm(args: Args, sample: Sample, **kwargs: Any) -> Any:
    path = sample.custom_rm_path or args.custom_rm_path
    if path is not None:
        return await load_function(path)(args, sample, **kwargs)
    if args.rm_type == "remote_rm":
        return await remote_rm(args, sample)
    raise NotImplementedError(f"this reproduction only has custom and remote reward models, not {args.rm_type!r}")


async def batched_async_rm(args: Args, samples: list[Sample], **kwargs: Any) -> list[Any]:
    if args.custom_rm_path is not None:
        rewards: list[Any] = await load_function(args.custom_rm_path)(args, samples, **kwargs)
        return rewards
    return list(await asyncio.gather(*(async_rm(args, s, **kwargs) for s in samples)))


async def score_group(args: Args, group: list[Sample]) -> list[Sample]:
    """generate_and_rm_group without the generation: per-sample rewards concurrently, or one group call."""
    if args.group_rm:
        rewards = await batched_async_rm(args, group)
        for sample, reward in zip(group, rewards, strict=False):
            sample.reward = reward
    else:
        rewards = await asyncio.gather(*(async_rm(args, s) for s in group))
        for sample, reward in zip(group, rewards, strict=True):
            sample.reward = reward
    return group


def reward_value(args: Args, sample: Sample) -> float:
    """The scalar slime trains on: the reward, or its `--reward-key` entry."""
    value = sample.reward[args.reward_key] if args.reward_key else sample.reward
    return float(value)


# ---------------------------------------------------------------------------------------------------- the tests


RIGHT = "<think>6 times 7</think><answer>42</answer>"
WRONG = "<think>guess</think><answer>41</answer>"
PROMPT = [{"role": "user", "content": "What is 6 * 7?"}]
# A code label whose tests cannot be judged (empty): the row is unjudged, not wrong.
BROKEN = json.dumps({"inputs": [], "outputs": []})


def group() -> list[Sample]:
    return [Sample(PROMPT, RIGHT, "42"), Sample(PROMPT, WRONG, "42"), Sample(PROMPT, RIGHT, BROKEN)]


@pytest.fixture
def fresh_slime(arbiter_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slime, "_clients", {})
    monkeypatch.setattr(slime, "_batchers", {})
    monkeypatch.setenv("ARBITER_URL", arbiter_url)


@pytest.mark.usefixtures("fresh_slime")
async def test_custom_rm_path_per_sample_batches_the_concurrent_calls() -> None:
    args = Args(custom_rm_path="arbiter_client.adapters.slime.arbiter_rm", reward_key="reward")
    scored = await score_group(args, group())
    assert [reward_value(args, s) for s in scored] == [2.0, 1.0, 0.0]
    assert [s.reward["judged"] for s in scored] == [True, True, False]
    assert scored[2].reward["accuracy"] == 0.0 and scored[2].reward["format"] == 0.0
    # slime scored three samples at once: one request.
    (batcher,) = slime._batchers.values()
    assert batcher.batches_sent == 1


@pytest.mark.usefixtures("fresh_slime")
async def test_custom_rm_path_with_group_rm() -> None:
    args = Args(custom_rm_path="arbiter_client.adapters.slime.arbiter_group_rm", group_rm=True, reward_key="accuracy")
    scored = await score_group(args, group())
    assert [reward_value(args, s) for s in scored] == [1.0, 0.0, 0.0]
    assert [s.reward["status"] for s in scored][:2] == ["ok", "ok"]
    assert scored[2].reward["judged"] is False


async def test_remote_rm_posts_prompt_response_label_to_the_service(arbiter_url: str) -> None:
    args = Args(rm_type="remote_rm", rm_url=f"{arbiter_url}/slime/reward", reward_key="reward")
    scored = await score_group(args, group()[:2])
    assert [reward_value(args, s) for s in scored] == [2.0, 1.0]
    assert scored[0].reward["components"] == {"format": 1.0, "accuracy": 1.0}
