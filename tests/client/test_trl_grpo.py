"""A real GRPO run: TRL's GRPOTrainer, a tiny locally built model, two steps on CPU, rewards from a live Arbiter."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from adapter_helpers import Recording  # type: ignore[import-not-found]

from arbiter_client import AsyncArbiterClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trl_grpo.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trl_grpo_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_grpo_steps_against_live_arbiter(arbiter_url: str, tmp_path: Path) -> None:
    example = load_example()
    recording = Recording()
    trainer = example.build_trainer(
        arbiter_url,
        steps=2,
        output_dir=str(tmp_path),
        client_factory=lambda: AsyncArbiterClient(arbiter_url, transport=recording),
    )
    trainer.train()

    # Arbiter was called once per step (both component functions share the request), with one item per
    # completion: TRL's `solution` column as the math reference, one group per prompt.
    assert len(recording.bodies) == 2
    dataset = {row["prompt"]: row["solution"] for row in example.math_dataset()}
    for body in recording.bodies:
        items = body["items"]
        assert len(items) == 4  # num_generations completions of one prompt
        assert {item["task"] for item in items} == {"math"}
        assert len({item["group"] for item in items}) == 1
        assert len({json.dumps(item["reference"]) for item in items}) == 1
        assert items[0]["reference"]["answer"] in dataset.values()
        assert all(isinstance(item["completion"], str) for item in items)
        assert body["rewards"] == {"format": {"weight": 1.0}, "accuracy": {"weight": 1.0}}

    # The trainer logged every component under its own name, and the share of fallbacks (none).
    steps = [entry for entry in trainer.state.log_history if "rewards/arbiter_format/mean" in entry]
    assert len(steps) == 2
    for entry in steps:
        assert "rewards/arbiter_accuracy/mean" in entry
        assert entry["arbiter/fallback_frac"] == 0.0
