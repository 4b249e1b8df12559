"""OpenRLHF 0.11's own remote reward client (`openrlhf.utils.agent.SingleTurnAgentExecutor`, installed without its
GPU stack) against a live Arbiter: `--remote_rm_url http://.../get_reward` and the file-based `reward_func` of the
installed adapter. Only the generation engine is a stand-in (it returns fixed token ids, as vLLM would); the
tokenizer is built offline, the query is decoded with special tokens by OpenRLHF's code, as in training."""

from __future__ import annotations

import asyncio
import math
import os
from types import SimpleNamespace
from typing import Any

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

import arbiter_client.adapters.openrlhf as adapter

PROMPT = "<|im_start|>user\nWhat is 6 * 7?<|im_end|>\n<|im_start|>assistant\n"
RIGHT = "<think>6 times 7</think><answer>42</answer>"
WRONG = "<think>guess</think><answer>41</answer>"


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    model = Tokenizer(models.BPE(unk_token=None))
    model.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    model.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|pad|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    model.train_from_iterator([PROMPT + RIGHT, PROMPT + WRONG] * 10, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=model, pad_token="<|pad|>", eos_token="<|im_end|>")


class Engine:
    """Stands in for OpenRLHF's vLLM engine: returns the given response (ending in <|im_end|>) for any prompt."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, response: str) -> None:
        self.token_ids = [*tokenizer.encode(response), tokenizer.eos_token_id]

    async def generate(self, prompt_token_ids: list[int], params: Any, multi_modal_data: Any = None) -> Any:
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=self.token_ids, finish_reason="stop", logprobs=None)])


async def execute(
    remote_rm_url: str, tokenizer: PreTrainedTokenizerFast, response: str, executor: Any = None
) -> dict[str, Any]:
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    executor = executor or SingleTurnAgentExecutor(remote_rm_url)
    params = SimpleNamespace(max_tokens=64, logprobs=None)
    out: dict[str, Any] = await executor.execute(PROMPT, "42", params, 512, tokenizer, Engine(tokenizer, response))
    return out


async def test_openrlhf_http_remote_rm_against_get_reward(arbiter_url: str, tokenizer: PreTrainedTokenizerFast) -> None:
    right = await execute(f"{arbiter_url}/get_reward", tokenizer, RIGHT)
    wrong = await execute(f"{arbiter_url}/get_reward", tokenizer, WRONG)
    # OpenRLHF decoded prompt + response with <|im_end|>; the strict format still holds (trailing tokens stripped).
    # It keeps the one-query response's lists as they come.
    assert (right["reward"], right["scores"]) == ([2.0], [1.0])
    assert (wrong["reward"], wrong["scores"]) == ([1.0], [0.0])
    assert right["extra_logs"] == {"format": [1.0], "accuracy": [1.0], "judged": [1.0]}


async def test_openrlhf_file_reward_func_of_the_installed_adapter(
    arbiter_url: str, dead_url: str, tokenizer: PreTrainedTokenizerFast, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenRLHF loads the file by path (spec_from_file_location) into a module of its own: it must import
    # arbiter_client from the installed package, nothing from this repository.
    monkeypatch.setenv("ARBITER_URL", arbiter_url)
    out = await execute(adapter.__file__, tokenizer, RIGHT)
    assert out["reward"].tolist() == [2.0] and out["scores"].tolist() == [1.0]
    assert out["extra_logs"]["arbiter_judged"].tolist() == [1.0]
    monkeypatch.setenv("ARBITER_URL", dead_url)
    monkeypatch.setenv("ARBITER_DEADLINE_S", "1")
    down = await execute(adapter.__file__, tokenizer, RIGHT)
    # A dead server: the documented default (the fallback reward, 0), marked unjudged, and no exception.
    assert down["reward"].tolist() == [0.0] and down["extra_logs"]["arbiter_judged"].tolist() == [0.0]


async def test_openrlhf_concurrent_rollouts_share_batched_requests(
    arbiter_url: str, tokenizer: PreTrainedTokenizerFast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rollout actor runs its rollouts concurrently through one executor, and OpenRLHF calls the file's
    reward_func once per rollout, each on a thread (asyncio.to_thread): the adapter coalesces those calls into as
    few requests as the threads allow (16 rollouts, here 6 threads: 3 requests instead of 16)."""
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    monkeypatch.setenv("ARBITER_URL", arbiter_url)
    # A window wide enough that threads started together land in it on a loaded machine.
    monkeypatch.setenv("ARBITER_BATCH_WINDOW_S", "0.2")
    executor = SingleTurnAgentExecutor(adapter.__file__)
    responses = [RIGHT, WRONG] * 8
    outs = await asyncio.gather(*(execute("", tokenizer, r, executor) for r in responses))
    assert [o["reward"].tolist() for o in outs] == [[2.0], [1.0]] * 8
    # The module OpenRLHF loaded from the file holds the batcher. asyncio.to_thread runs on the loop's default
    # executor, min(32, cpus + 4) threads: that many rollouts share a request, the rest wait for a thread.
    threads = min(32, (os.cpu_count() or 1) + 4)
    assert executor.reward_func.__globals__["_batcher"].batches_sent == math.ceil(len(responses) / threads)
