"""OpenRLHF with Arbiter as its remote reward model.

Either point OpenRLHF at the service (no code on the trainer side):

    python -m openrlhf.cli.train_ppo_ray ... \
        --remote_rm_url http://arbiter-0:8000/get_reward --label_key answer

or at the file-based function of the installed `arbiter-client` (`pip install ./client`), which adds the
client's fail-over and deadline (reads $ARBITER_URL); OpenRLHF takes a file path, which Python prints:

        --remote_rm_url "$(python -c 'import arbiter_client.adapters.openrlhf as m; print(m.__file__)')" \
        --label_key answer

This script sends what OpenRLHF sends (queries decoded with their special tokens, the prompts, the labels) and prints
what it gets back:

    arbiter serve --port 8000 &
    python examples/openrlhf_remote.py --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse

import httpx

PROMPT = "<|im_start|>user\nWhat is 6 * 7?<|im_end|>\n<|im_start|>assistant\n"
RESPONSES = ["<think>6*7</think><answer>42</answer><|im_end|>", "<think>guess</think><answer>40</answer><|im_end|>"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    body = {"query": [PROMPT + r for r in RESPONSES], "prompts": [PROMPT] * 2, "labels": ["42", "42"]}
    response = httpx.post(f"{args.url}/get_reward", json=body, timeout=60)
    response.raise_for_status()
    print(response.json())  # {"rewards": [2.0, 1.0], "scores": [1.0, 0.0], "extra_logs": {"format": [...], ...}}


if __name__ == "__main__":
    main()
