"""GRPO advantages: the formulas of TRL and verl, checked against torch's own std where torch is installed."""

from __future__ import annotations

import math
import sys

import pytest

from app.rewards.advantages import group_advantages, sample_std


def test_sample_std_is_bessel_corrected() -> None:
    assert sample_std([1.0, 0.0]) == pytest.approx(math.sqrt(0.5))  # population std would be 0.5
    assert math.isnan(sample_std([1.0]))


def test_group_scale_matches_torch_std() -> None:
    import torch  # the TRL extra's dependency; imported here so that the other tests need only the stdlib

    rewards = [1.0, 0.0, 0.0, 2.0, 5.0, 3.0]
    groups = ["a", "a", "a", "b", "b", "b"]
    got = group_advantages(rewards, groups, scale="group", eps=1e-6)
    t = torch.tensor(rewards).view(2, 3)
    want = ((t - t.mean(dim=1, keepdim=True)) / (t.std(dim=1, keepdim=True) + 1e-6)).flatten().tolist()
    assert got == pytest.approx(want, rel=1e-6)


def test_none_scale_is_dr_grpo() -> None:
    assert group_advantages([1.0, 0.0, 0.0, 0.0], ["p"] * 4, scale="none") == [0.75, -0.25, -0.25, -0.25]


def test_batch_scale_uses_group_mean_and_batch_std() -> None:
    rewards = [1.0, 0.0, 2.0, 2.0]
    got = group_advantages(rewards, ["a", "a", "b", "b"], scale="batch", eps=0.0)
    std_b = sample_std(rewards)
    assert got == pytest.approx([0.5 / std_b, -0.5 / std_b, 0.0, 0.0])


def test_equal_rewards_singletons_and_unscorable_get_zero() -> None:
    # Group a: equal rewards (no signal). Item 2: alone. Item 5 unscorable: excluded from group c's baseline.
    got = group_advantages([0.1, 0.1, 1.0, 1.0, 0.0, None], ["a", "a", None, "c", "c", "c"], scale="group", eps=0.0)
    assert got[:3] == [0.0, 0.0, 0.0]
    assert got[5] == 0.0
    assert got[3] == pytest.approx(0.5 / math.sqrt(0.5))
    assert got[4] == pytest.approx(-0.5 / math.sqrt(0.5))


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        group_advantages([1.0], ["a", "b"])
    with pytest.raises(ValueError):
        group_advantages([1.0], ["a"], scale="rank")  # type: ignore[arg-type]


def test_huge_rewards_give_finite_advantages_equal_to_the_scaled_ones() -> None:
    # Weights may reach the float range (issue 11): mean and std of such rewards would overflow to inf and NaN.
    huge = group_advantages([1.5e308, -1.5e308, 0.0], ["g"] * 3)
    small = group_advantages([1.5, -1.5, 0.0], ["g"] * 3)
    assert all(math.isfinite(a) for a in huge)
    assert huge == pytest.approx(small, rel=1e-6)
    # scale "none" is r - mean, which can pass the float range itself: clamped, never inf.
    none = group_advantages([1.7e308, -1.7e308, -1.7e308], ["g"] * 3, scale="none")
    assert none[0] == sys.float_info.max and all(math.isfinite(a) for a in none)
    assert none[1] == pytest.approx(-1.7e308 / 3 * 2, rel=1e-9)
    batch = group_advantages([1e308, -1e308, 5.0, 6.0], ["a", "a", "b", "b"], scale="batch")
    assert all(math.isfinite(a) for a in batch) and batch[0] > 0 > batch[1]
