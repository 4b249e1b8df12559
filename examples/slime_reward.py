"""slime with Arbiter rewards.

Remote mode (slime POSTs each sample's prompt, response and label):

    --rm-type remote_rm --rm-url http://arbiter-0:8000/slime/reward --reward-key reward

Custom function mode (one chunked request per group, client fail-over and deadline; reads $ARBITER_URL):

    --custom-rm-path arbiter_client.adapters.slime.arbiter_rm                 # one sample per call
    --custom-rm-path arbiter_client.adapters.slime.arbiter_group_rm --group-rm  # a group per call

This script does what both modes do against a running service:

    arbiter serve --port 8000 &
    ARBITER_URL=http://127.0.0.1:8000 python examples/slime_reward.py
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import httpx

from arbiter_client.adapters.slime import arbiter_group_rm


@dataclass
class Sample:  # the fields of slime.utils.types.Sample that a reward reads
    prompt: str
    response: str
    label: str


def main() -> None:
    url = os.environ.get("ARBITER_URL", "http://127.0.0.1:8000").split(",")[0]
    payload = {"prompt": "What is 6 * 7?", "response": "<think>6*7</think><answer>42</answer>", "label": "42"}
    print("remote_rm:", httpx.post(f"{url}/slime/reward", json=payload, timeout=60).json())
    samples = [Sample(payload["prompt"], r, "42") for r in ("<think>a</think><answer>42</answer>", "no tags, 41")]
    print("group_rm:", asyncio.run(arbiter_group_rm(None, samples)))


if __name__ == "__main__":
    main()
