"""GRPO with TRL on a tiny causal LM built locally, rewarded by a running Arbiter.

    arbiter serve --port 8000 &            # or: make serve
    python examples/trl_grpo.py --arbiter-url http://127.0.0.1:8000 --steps 5

Nothing is downloaded: the model is a 2-layer Qwen2 built from a config, the tokenizer a byte-level BPE trained here
on the dataset, and the dataset a few arithmetic questions written below. It learns nothing useful in a few steps:
the point is the plumbing, i.e. that TRL's GRPOTrainer calls Arbiter once per batch and logs every component
(`rewards/arbiter_format/mean`, `rewards/arbiter_accuracy/mean`), with `reward_weights` applied on TRL's side.

Swap in a real model (`model="Qwen/Qwen2.5-0.5B-Instruct"`) and dataset for an actual run; the reward side does not
change. Needs: `pip install torch==2.13.0 trl==1.16.0` (TRL pulls transformers, accelerate, datasets).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from collections.abc import Sequence
from typing import Any

# Set before transformers is imported: no hub look-ups, no telemetry, quiet tokenizers fork warning.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from trl import GRPOConfig, GRPOTrainer

from arbiter_client.adapters.trl import arbiter_reward_funcs

SYSTEM = "Answer in the form <think> reasoning </think><answer> result </answer>.\n"


def math_dataset(n: int = 32, seed: int = 0) -> Dataset:
    """Small addition and multiplication questions with their answers in TRL's `solution` column."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.randint(1, 20), rng.randint(1, 20)
        op, value = rng.choice([("+", a + b), ("*", a * b)])
        rows.append({"prompt": f"{SYSTEM}What is {a} {op} {b}?\n", "solution": str(value)})
    return Dataset.from_list(rows)


def build_tokenizer(texts: Sequence[str]) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on the dataset (plus the tags), so every string round-trips."""
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|pad|>", "<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = list(texts) + ["<think> </think><answer> </answer>"] * 20
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<|pad|>", eos_token="<|endoftext|>")


def build_model(tokenizer: PreTrainedTokenizerFast, seed: int = 0) -> Qwen2ForCausalLM:
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    return Qwen2ForCausalLM(config)


def build_trainer(
    arbiter_url: str | Sequence[str],
    *,
    steps: int = 2,
    output_dir: str | None = None,
    num_generations: int = 4,
    max_completion_length: int = 24,
    reward_weights: Sequence[float] = (0.5, 1.0),
    **client_options: Any,
) -> GRPOTrainer:
    dataset = math_dataset()
    tokenizer = build_tokenizer([row["prompt"] + row["solution"] for row in dataset])
    model = build_model(tokenizer)
    reward_funcs = arbiter_reward_funcs(arbiter_url, components=("format", "accuracy"), **client_options)
    args = GRPOConfig(
        output_dir=output_dir or tempfile.mkdtemp(prefix="arbiter-grpo-"),
        max_steps=steps,
        per_device_train_batch_size=num_generations,  # one prompt's group per step: the smallest GRPO batch
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        learning_rate=1e-3,
        beta=0.0,  # no reference model: half the forward passes, and GRPO's default since DAPO / Dr. GRPO
        reward_weights=list(reward_weights),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=0,
        dataloader_num_workers=0,
    )
    return GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=reward_funcs, args=args, train_dataset=dataset
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--arbiter-url",
        default=os.environ.get("ARBITER_URL", "http://127.0.0.1:8000"),
        help="base URL(s), comma-separated (default $ARBITER_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args(argv)
    trainer = build_trainer(args.arbiter_url.split(","), steps=args.steps, output_dir=args.output_dir, deadline_s=60)
    trainer.train()
    for entry in trainer.state.log_history:
        rewards = {k: round(v, 3) for k, v in entry.items() if k.startswith("rewards/") or k == "reward"}
        if rewards:
            print(f"step {entry.get('step')}: {rewards}")


if __name__ == "__main__":
    main()
