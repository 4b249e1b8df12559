"""A verl 0.9 reward-loop manager that scores each reward worker's batch in one Arbiter request.

verl's reward loop (verl/experimental/reward_loop/reward_loop.py, 0.9.1) hands a manager one sample at a time:
`RewardLoopWorker.compute_score_batch` starts one task per sample, each awaiting the manager's `run_single`, and the
trainer then calls the class's `assemble_rm_scores`. There is no batch entry point for a manager to override. This
manager therefore collects the samples of one `compute_score_batch` call: every task queues its item in the loop
iteration that started it (the response is decoded inline, with no await before the item is queued), and the
queue is sent on the next iteration, so one worker's batch is one request (up to `max_items`, 4096 by default,
the server's default `ARBITER_MAX_ITEMS`). verl's own managers await the reward function per sample instead.

Configure it with verl's keys for a manager loaded by importlib (`verl.trainer.ppo.reward.resolve_reward_manager_cls`
reads `getattr(load_module(module.path), name)`); the module comes from the installed `arbiter-client` package:

    reward.reward_manager.source=importlib
    reward.reward_manager.name=ArbiterRewardManager
    reward.reward_manager.module.path=pkg://arbiter_client.adapters.verl_manager
    +reward.custom_reward_function.reward_kwargs.rewards=dapo        # optional: the same keys as the function's

No `custom_reward_function.path` is needed (leave it unset: with a path set, verl still calls `run_single`, and
this manager ignores the function it is given). Options are read from `reward.custom_reward_function.reward_kwargs`,
the same keys as arbiter_client.adapters.verl's `compute_score` (`rewards`, `components`, `unjudged_score`,
`arbiter_url`), and the client from the ARBITER_* environment (arbiter_client/adapters/env.py). Rows are read as
the function reads them (arbiter_client.adapters.verl.build_item), each item also carries `completion_tokens`
(the valid response length, for the server's length rewards such as DAPO's `overlong`), and every sample returns
`{"reward_score": score, "reward_extra_info": {"score", <components>, "arbiter_judged"}}`, the same keys for every
row, fallbacks included.

This module imports verl (its base class) and is meant to be loaded by verl; the rest of the client does not need
verl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    from verl import DataProto  # type: ignore[import-not-found, unused-ignore]
    from verl.experimental.reward_loop.reward_manager.base import (  # type: ignore[import-not-found, unused-ignore]
        RewardManagerBase,
    )
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        f"arbiter_client.adapters.verl_manager is a verl reward-loop manager and needs verl 0.9 ({exc}): install "
        "verl beside arbiter-client, or use arbiter_client.adapters.verl's compute_score"
    ) from exc

from arbiter_client.adapters.env import client_options_from_env
from arbiter_client.adapters.verl import VerlOptions, VerlScorer, build_item, to_verl

#: The most items of one request (the server's default ARBITER_MAX_ITEMS); a larger worker batch is split.
MAX_ITEMS = 4096


class ArbiterRewardManager(RewardManagerBase):  # type: ignore[misc, unused-ignore]  # verl's base is untyped
    """verl reward-loop manager: the samples of a worker's batch scored by Arbiter in one request."""

    def __init__(
        self,
        config: Any,
        tokenizer: Any,
        compute_score: Any = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer: Any = None,
    ) -> None:
        super().__init__(config, tokenizer, compute_score)
        function_config = config.reward.get("custom_reward_function") or {}
        kwargs: Mapping[str, Any] = function_config.get("reward_kwargs") or {}
        self.options = VerlOptions(dict(kwargs))
        urls, client_options = client_options_from_env()
        # window 0: the queue is sent on the loop iteration after the first sample queued, when every sample of
        # the worker's batch has queued too. One request, so the client must not chunk it either.
        self.scorer = VerlScorer(urls, window_s=0.0, max_items=MAX_ITEMS, chunk_size=MAX_ITEMS, **client_options)

    async def run_single(self, data: DataProto) -> dict[str, Any]:
        data_item = data[-1:][0]  # multi-sequence outputs: the last sequence is scored, as verl's managers do
        response_ids = data_item.batch["responses"]
        length = int(data_item.batch["attention_mask"][-response_ids.shape[-1] :].sum())
        # Decoded inline, not in an executor as verl's managers do: an await here would let the queue be sent
        # before the other samples of the batch have joined it.
        text = self.tokenizer.decode(response_ids[:length], skip_special_tokens=True)
        non_tensor = data_item.non_tensor_batch
        item = build_item(
            0,
            non_tensor.get("data_source"),
            text,
            non_tensor["reward_model"]["ground_truth"],
            non_tensor.get("extra_info"),
        )
        item["completion_tokens"] = length
        uid = non_tensor.get("uid")
        if uid is not None:
            # verl's GRPO group id (set by the trainer on the batch, not in extra_info): what the server groups by.
            item["group"] = str(uid)
        result = await self.scorer.batcher(self.options.rewards, self.options.urls).score(item)
        info = to_verl(result, self.options.components, self.options.unjudged_score)
        return {"reward_score": info["score"], "reward_extra_info": info}

    def batches_sent(self) -> int:
        """Batched requests sent so far (one per worker batch of up to MAX_ITEMS; the CI test reads it)."""
        return self.scorer.batches_sent()
