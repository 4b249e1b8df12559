"""verl with Arbiter rewards.

In verl's config (or on the command line of `python -m verl.trainer.main_ppo`):

    custom_reward_function.path=$(python -c 'import arbiter_client.adapters.verl as m; print(m.__file__)')
    custom_reward_function.name=compute_score_batch      # with reward_model.reward_manager=batch (recommended)
    # or: custom_reward_function.name=compute_score      # async, one item per call (naive / reward loop managers)

and in the environment of the reward workers: `ARBITER_URL=http://arbiter-0:8000,http://arbiter-1:8000`
(optional `ARBITER_API_KEY`, `ARBITER_DEADLINE_S`, `ARBITER_FALLBACK_REWARD`).

This script calls both entry points exactly as verl does, on a gsm8k-style and an APPS-style sample, so the wiring
can be checked without a GPU:

    arbiter serve --port 8000 &
    ARBITER_URL=http://127.0.0.1:8000 python examples/verl_reward.py
"""

from __future__ import annotations

import asyncio
import json

from arbiter_client.adapters.verl import compute_score, compute_score_batch

GSM8K = ("openai/gsm8k", "<think>3 apples and 4 apples</think><answer>7</answer>", "7")
APPS = (
    "apps",
    "<think>sum</think><answer>\n```python\nprint(sum(map(int, input().split())))\n```\n</answer>",
    json.dumps({"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}),
)


def main() -> None:
    # The per-item manager awaits compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...).
    single = asyncio.run(
        compute_score(data_source=GSM8K[0], solution_str=GSM8K[1], ground_truth=GSM8K[2], extra_info={"index": 0})
    )
    print("compute_score:", single)
    # BatchRewardManager calls compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=...).
    batch = compute_score_batch(
        data_sources=[GSM8K[0], APPS[0]],
        solution_strs=[GSM8K[1], APPS[1]],
        ground_truths=[GSM8K[2], APPS[2]],
        extra_infos=[{"uid": "q0"}, {"uid": "q1"}],
    )
    print("compute_score_batch:", batch)


if __name__ == "__main__":
    main()
