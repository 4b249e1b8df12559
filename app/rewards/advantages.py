"""GRPO group-relative advantages, as pure functions over plain floats (stdlib only).

The server computes them for a request that asks (`"advantages": {"scale": ...}`), and app/client.py computes
them over a whole batch after chunked requests came back: both call `group_advantages`, so a custom training
loop gets the same numbers either way. docs/advantages.md compares the formulas with TRL's and verl's.

    A_i = (r_i - mean_g) / (std_g + eps)   scale="group"  (GRPO, DeepSeekMath; TRL's and verl's default)
    A_i = (r_i - mean_g) / (std_B + eps)   scale="batch"  (TRL's scale_rewards="batch"; PPO-Lite)
    A_i =  r_i - mean_g                    scale="none"   (Dr. GRPO; verl's norm_adv_by_std_in_grpo=False)

mean_g and std_g are over the item's group g, std_B over the whole batch. std is the *sample* standard deviation
(Bessel's correction, divisor n - 1), which is what `torch.std` (verl) and `trl.trainer.utils.nanstd` (TRL) compute.

Items that cannot be judged (`None` reward: the server could not score them, or the client fell back) are left
out of every mean and std and get advantage 0.0, as TRL does with rows where every reward function returned None:
a completion Arbiter could not judge must neither move the policy nor shift its group's baseline. A group with a
single scorable item has no baseline to compare with and gets 0.0 too (TRL: NaN std -> advantage 0; verl differs,
see docs/advantages.md).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Hashable, Sequence
from typing import Literal

Scale = Literal["group", "batch", "none"]

#: verl's default epsilon (compute_grpo_outcome_advantage); TRL hard-codes 1e-4.
DEFAULT_EPS = 1e-6


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with Bessel's correction (divisor n - 1), as torch.std; NaN below two values."""
    n = len(values)
    if n < 2:
        return math.nan
    mean = math.fsum(values) / n
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def group_advantages(
    rewards: Sequence[float | None],
    groups: Sequence[Hashable | None],
    *,
    scale: Scale = "group",
    eps: float = DEFAULT_EPS,
) -> list[float]:
    """One advantage per reward, in order.

    `groups[i]` is the prompt id of item i; an item whose group is None is a group of its own (so its advantage
    is 0.0: without siblings there is nothing to be relative to). `None` rewards are unscorable (see the module
    docstring).
    """
    if len(rewards) != len(groups):
        raise ValueError(f"{len(rewards)} rewards but {len(groups)} groups")
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', not {scale!r}")
    if eps < 0:
        raise ValueError("eps must be >= 0")

    members: dict[object, list[int]] = {}
    for i, (reward, group) in enumerate(zip(rewards, groups, strict=True)):
        if reward is None:
            continue
        # An ungrouped item gets a key no other item shares.
        key: object = ("__single__", i) if group is None else ("group", group)
        members.setdefault(key, []).append(i)

    # Rewards are finite but may be huge (weights up to the float range): mean, std and differences are computed
    # on values divided by the largest magnitude, where nothing overflows, and scaled back. The advantage is
    # finite whatever the rewards (clamped to the float range in the one case it is not: scale "none" with
    # rewards near the float maximum), so that a response never carries NaN or null.
    scored = [float(r) for r in rewards if r is not None]
    batch_unit = max((abs(v) for v in scored), default=0.0) or 1.0
    batch_std = sample_std([v / batch_unit for v in scored]) if scale == "batch" else math.nan
    out = [0.0] * len(rewards)
    for indices in members.values():
        if len(indices) < 2:
            continue
        values = [float(rewards[i]) for i in indices]  # type: ignore[arg-type]  # None filtered above
        if min(values) == max(values):
            # All equal: no signal. Tested on the values, not on std == 0, because the rounding of the mean can
            # leave a residue of 1e-17 that eps would turn into a spurious advantage.
            continue
        unit = batch_unit if scale == "batch" else max(abs(v) for v in values)
        scaled = [v / unit for v in values]
        mean = math.fsum(scaled) / len(scaled)
        if scale == "none":
            # (v - mean) = unit * (v/unit - mean/unit): no std to divide by, scale back.
            divisor = 1.0 / unit
        else:
            # (v - mean) / (std + eps) = (v/unit - mean/unit) / (std/unit + eps/unit)
            std = sample_std(scaled) if scale == "group" else batch_std
            divisor = std + eps / unit
        for i, value in zip(indices, scaled, strict=True):
            out[i] = _finite((value - mean) / divisor)
    return out


def _finite(value: float) -> float:
    if math.isfinite(value):
        return value
    return math.copysign(sys.float_info.max, value)
