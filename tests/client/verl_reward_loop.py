"""verl 0.9.1's reward loop scoring through the Arbiter adapter; run inside the verl venv (.venv-verl) by
test_verl_reward_loop.py, which starts the Arbiter and reads the JSON this prints.

What it does, each step with verl's own code:
1. writes a parquet of mixed math and code rows the way verl's examples/data_preprocess scripts write them
   (`data_source`, chat `prompt`, `ability`, `reward_model: {style, ground_truth}`, `extra_info: {split, index, ...}`,
   through `datasets.Dataset.to_parquet`, which merges the rows' `extra_info` keys into one struct);
2. builds a byte-level BPE tokenizer offline (no hub) and saves it where `actor_rollout_ref.model.path` points;
3. loads the parquet with verl's `RLHFDataset` and `collate_fn` into a `DataProto`;
4. stands in for the rollout: the prompt through the tokenizer's chat template (left-padded), a fixed response per
   row (right-padded), the attention mask over both, as verl's agent loop lays them out;
5. composes verl's `ppo_trainer` config with the documented reward keys and runs the reward loop: in-process
   (`RewardLoopWorker.compute_score_batch`, then the manager's `assemble_rm_scores`) or over Ray actors
   (`RewardLoopManager.compute_rm_score`, the trainer's own path).

Usage: python verl_reward_loop.py --workdir DIR --manager naive|dapo|arbiter --mode inprocess|ray [--repeat N]
(arbiter: arbiter_client.adapters.verl_manager.ArbiterRewardManager, loaded with reward_manager.source=importlib)
(`ARBITER_URL` in the environment; --repeat multiplies the rows, for the benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import datasets
import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

INSTRUCTION = " Think in <think></think>, answer in <answer></answer>."
PY_SUM = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
CPP_SUM = "```cpp\n#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b; }\n```"
SUM_TESTS = json.dumps({"inputs": ["1 2\n", "10 20\n"], "outputs": ["3\n", "30\n"]})

# (data_source, ability, question, ground_truth, extra_info beyond split/index, response)
ROWS: list[tuple[str, str, str, str, dict[str, Any], str]] = [
    ("openai/gsm8k", "math", "What is 6 * 7?", "42", {}, "<think>6 times 7</think><answer>42</answer>"),
    ("openai/gsm8k", "math", "What is 6 * 7?", "42", {}, "<think>guess</think><answer>41</answer>"),
    ("HuggingFaceH4/MATH-500", "math", "Half of one?", "\\frac{1}{2}", {}, "<think>1/2</think><answer>0.5</answer>"),
    ("openai/gsm8k", "math", "What is 2 + 2?", "4", {}, "the answer is 4"),
    # Tests in extra_info too (as code preprocessors write them): every math row then has `tests: None`.
    (
        "codecontests",
        "code",
        "Add two numbers.",
        SUM_TESTS,
        {"tests": SUM_TESTS},
        f"<think>add</think><answer>\n{PY_SUM}\n</answer>",
    ),
    (
        "codeforces",
        "code",
        "Add two numbers (C++).",
        SUM_TESTS,
        {"language": "cpp"},
        f"<think>add</think><answer>\n{CPP_SUM}\n</answer>",
    ),
    # A malformed row: its tests are not JSON. It must cost that row (unjudged), never the step.
    ("codecontests", "code", "Broken row.", "{not json", {}, f"<think>x</think><answer>\n{PY_SUM}\n</answer>"),
]


def write_parquet(path: Path, repeat: int) -> None:
    """Rows as verl's examples/data_preprocess/gsm8k.py makes them: `make_map_fn` output, then `to_parquet`."""
    rows = []
    for k in range(repeat):
        for i, (source, ability, question, truth, extra, _) in enumerate(ROWS):
            rows.append(
                {
                    "data_source": source,
                    "prompt": [{"role": "user", "content": question + INSTRUCTION}],
                    "ability": ability,
                    "reward_model": {"style": "rule", "ground_truth": truth},
                    "extra_info": {"split": "train", "index": k * len(ROWS) + i, "question": question, **extra},
                }
            )
    datasets.Dataset.from_list(rows).to_parquet(str(path))


def build_tokenizer(directory: Path) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on the rows (so every response round-trips), with a chat template, saved where
    verl's `hf_tokenizer` loads it from."""
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([q + INSTRUCTION + r for _, _, q, _, _, r in ROWS] * 5, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<|pad|>", eos_token="<|endoftext|>")
    fast.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    fast.save_pretrained(str(directory))
    return fast


def rollout_batch(workdir: Path, tokenizer: PreTrainedTokenizerFast, config: Any, repeat: int) -> Any:
    from verl import DataProto
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    dataset = RLHFDataset(data_files=[str(workdir / "train.parquet")], tokenizer=tokenizer, config=config.data)
    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    responses = [ROWS[i % len(ROWS)][5] for i in range(len(dataset))]
    prompt_ids = [
        tokenizer.encode(tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False))
        for messages in batch.non_tensor_batch["raw_prompt"]
    ]
    response_ids = [[*tokenizer.encode(r), tokenizer.eos_token_id] for r in responses]
    p_len, r_len = max(map(len, prompt_ids)), max(map(len, response_ids)) + 3
    pad = tokenizer.pad_token_id
    prompts = torch.tensor([[pad] * (p_len - len(p)) + p for p in prompt_ids])
    resp = torch.tensor([r + [pad] * (r_len - len(r)) for r in response_ids])
    mask = torch.cat(
        [
            torch.tensor([[0] * (p_len - len(p)) + [1] * len(p) for p in prompt_ids]),
            torch.tensor([[1] * len(r) + [0] * (r_len - len(r)) for r in response_ids]),
        ],
        dim=1,
    )
    batch.batch["prompts"] = prompts
    batch.batch["responses"] = resp
    batch.batch["input_ids"] = torch.cat([prompts, resp], dim=1)
    batch.batch["attention_mask"] = mask
    return batch, [len(r) for r in response_ids]


def compose_config(workdir: Path, manager: str, workers: int) -> Any:
    import verl
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    overrides = [
        f"actor_rollout_ref.model.path={workdir / 'tokenizer'}",
        f"data.train_files={workdir / 'train.parquet'}",
        "data.max_prompt_length=512",
        f"reward.num_workers={workers}",
        "+reward.custom_reward_function.reward_kwargs.rewards=r1-zero",
        "+reward.custom_reward_function.reward_kwargs.unjudged_score=0.0",
    ]
    if manager == "arbiter":
        # The batch manager, loaded by importlib from the installed arbiter-client package; no reward function.
        overrides += [
            "reward.reward_manager.source=importlib",
            "reward.reward_manager.name=ArbiterRewardManager",
            "reward.reward_manager.module.path=pkg://arbiter_client.adapters.verl_manager",
        ]
    else:
        # The adapter function, loaded from the installed arbiter-client package: no PYTHONPATH anywhere.
        overrides += [
            "reward.custom_reward_function.path=pkg://arbiter_client.adapters.verl",
            "reward.custom_reward_function.name=compute_score",
            f"reward.reward_manager.name={manager}",
        ]
    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose(config_name="ppo_trainer", overrides=overrides)
    OmegaConf.set_struct(config, False)
    return config


def run_inprocess(config: Any, batch: Any) -> tuple[torch.Tensor, dict[str, list[Any]], float, int | None]:
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(config, None)
    start = time.perf_counter()
    # The managers run tokenizer decoding on the loop they were built with: drive that loop.
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch))
    elapsed = time.perf_counter() - start
    rm_scores = type(worker.reward_manager).assemble_rm_scores(batch, [o["reward_score"] for o in outputs])
    # RewardLoopManager.compute_rm_score's assembly: the first row's keys, read from every row.
    infos = [o.get("reward_extra_info", {}) for o in outputs]
    keys = list(infos[0])
    # The batch manager counts the requests it sent (the function's micro-batchers live in the adapter module).
    sent = getattr(worker.reward_manager, "batches_sent", None)
    requests = sent() if callable(sent) else None
    return rm_scores, {k: np.array([info[k] for info in infos]).tolist() for k in keys}, elapsed, requests


def run_ray(config: Any, batch: Any) -> tuple[torch.Tensor, dict[str, list[Any]], float, int | None]:
    import ray
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    env = {k: v for k, v in os.environ.items() if k.startswith("ARBITER_") or k.startswith("HF_")}
    # address="local": a new cluster of its own, never one another test (or a trainer) left running on this host
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        manager = RewardLoopManager(config)
        start = time.perf_counter()
        out = manager.compute_rm_score(batch)
        elapsed = time.perf_counter() - start
    finally:
        ray.shutdown()
    keys = out.meta_info["reward_extra_keys"]
    return out.batch["rm_scores"], {k: out.non_tensor_batch[k].tolist() for k in keys}, elapsed, None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument(
        "--manager", choices=["naive", "dapo", "arbiter"], default="naive", help="arbiter: the batch manager"
    )
    parser.add_argument("--workers", type=int, default=1, help="reward.num_workers (Ray mode)")
    parser.add_argument("--mode", choices=["inprocess", "ray"], default="inprocess")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--math-only", action="store_true", help="only the math rows (benchmark)")
    parser.add_argument("--default-compute-score", action="store_true", help="verl's own scorer (benchmark)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.math_only:
        ROWS[:] = [row for row in ROWS if row[1] == "math"]
    write_parquet(args.workdir / "train.parquet", args.repeat)
    tokenizer = build_tokenizer(args.workdir / "tokenizer")
    config = compose_config(args.workdir, args.manager, args.workers)
    if args.default_compute_score:
        config.reward.custom_reward_function.path = None
    batch, response_lengths = rollout_batch(args.workdir, tokenizer, config, args.repeat)
    # elapsed: the reward loop's call alone (not the imports, the worker's start or the dataset).
    run = run_inprocess if args.mode == "inprocess" else run_ray
    rm_scores, extra, elapsed, requests = run(config, batch)
    rows = []
    for i, length in enumerate(response_lengths):
        nonzero = torch.nonzero(rm_scores[i]).flatten().tolist()
        rows.append({"last_valid": length - 1, "nonzero": nonzero, "value": float(rm_scores[i, length - 1])})
    out = {"rows": rows, "extra": extra, "elapsed_s": elapsed, "n": len(response_lengths), "requests": requests}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
