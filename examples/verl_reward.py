"""verl (0.9) with Arbiter rewards.

In the environment of the trainer and of its Ray workers: `pip install ./client` (the arbiter-client package, httpx
only) and `ARBITER_URL=http://arbiter-0:8000,http://arbiter-1:8000` (optional `ARBITER_API_KEY`,
`ARBITER_DEADLINE_S`, `ARBITER_FALLBACK_REWARD`). Then verl's documented keys, with the module loaded from the
installed package (verl's `pkg://` prefix: no file path, no PYTHONPATH):

    python -m verl.trainer.main_ppo ... \\
        reward.custom_reward_function.path=pkg://arbiter_client.adapters.verl \\
        reward.custom_reward_function.name=compute_score \\
        reward.reward_manager.name=naive \\
        +reward.custom_reward_function.reward_kwargs.rewards=r1-zero \\
        +reward.custom_reward_function.reward_kwargs.unjudged_score=0.0

`reward.reward_manager.name=dapo` works the same way (verl adds its overlong penalty on top). Every row gets the
keys `score`, `format`, `accuracy` and `arbiter_judged` (0.0 where Arbiter could not judge the row: then `score` is
`unjudged_score`). The per-rollout calls of a batch are coalesced into a few requests.

For one request per reward worker's batch, load Arbiter's reward-loop manager instead of the function (verl loads
it by importlib from the installed package; the same reward_kwargs):

    python -m verl.trainer.main_ppo ... \\
        reward.reward_manager.source=importlib \\
        reward.reward_manager.name=ArbiterRewardManager \\
        reward.reward_manager.module.path=pkg://arbiter_client.adapters.verl_manager \\
        +reward.custom_reward_function.reward_kwargs.rewards=r1-zero

This script makes the calls verl's reward loop makes, on a gsm8k-style and an APPS-style row:

    arbiter serve --port 8000 &
    ARBITER_URL=http://127.0.0.1:8000 python examples/verl_reward.py
"""

from __future__ import annotations

import asyncio
import json

from arbiter_client.adapters.verl import compute_score

GSM8K = ("openai/gsm8k", "<think>3 apples and 4 apples</think><answer>7</answer>", "7")
APPS = (
    "apps",
    "<think>sum</think><answer>\n```python\nprint(sum(map(int, input().split())))\n```\n</answer>",
    json.dumps({"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}),
)


async def main() -> None:
    # verl's managers await compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...,
    # **reward_kwargs) once per rollout, all rollouts of a batch at once: these two go in one request.
    results = await asyncio.gather(
        *(
            compute_score(data_source=source, solution_str=text, ground_truth=truth, extra_info={"index": i})
            for i, (source, text, truth) in enumerate([GSM8K, APPS])
        )
    )
    for (source, _, _), result in zip([GSM8K, APPS], results, strict=True):
        print(source, result)


if __name__ == "__main__":
    asyncio.run(main())
