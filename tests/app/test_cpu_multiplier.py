"""The per-item CPU multiplier (reference.limits.cpu_multiplier): it scales the item's cpu_s for its language, in
place of ARBITER_SANDBOX_CPU_MULTIPLIERS and the language's default."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.completion import TagConfig
from app.config import SandboxSettings
from app.intake import Intake, IntakeLimits, ScoreItem
from app.rewards.base import CodeReference
from app.rewards.code_accuracy import CodeAccuracy
from app.sandbox_runtime import SandboxRuntime

INTAKE = Intake(TagConfig(), IntakeLimits(max_items=8, max_completion_chars=1000))
TESTS = {"inputs": ["1\n"], "outputs": ["1\n"]}


def _cpu_s(limits: dict[str, Any], language: str = "java", **settings: Any) -> float:
    item = ScoreItem.model_validate(
        {"id": "0", "completion": "x", "reference": {"language": language, "tests": TESTS, "limits": limits}}
    )
    [scoring] = INTAKE.items([item])
    assert isinstance(scoring.reference, CodeReference)
    s = SandboxSettings(**settings)
    request = CodeAccuracy(SandboxRuntime(s), s).build_request("class Main {}", scoring.reference, "tolerant")
    return request.effective_limits.cpu_s


def test_item_multiplier_scales_its_cpu_limit() -> None:
    assert _cpu_s({"cpu_s": 1.5}) == 3.0  # java's default multiplier, 2
    assert _cpu_s({"cpu_s": 1.5, "cpu_multiplier": 3}) == 4.5
    assert _cpu_s({"cpu_s": 1.5, "cpu_multiplier": 0.5}, language="cpp") == 0.75


def test_item_multiplier_wins_over_the_setting() -> None:
    assert _cpu_s({"cpu_s": 2}, cpu_multipliers={"java": 2.5}) == 5.0
    assert _cpu_s({"cpu_s": 2, "cpu_multiplier": 1}, cpu_multipliers={"java": 2.5}) == 2.0


@pytest.mark.parametrize("bad", [0, -1, 11])
def test_out_of_range_multiplier_is_refused(bad: float) -> None:
    with pytest.raises(ValidationError, match="cpu_multiplier"):
        ScoreItem.model_validate(
            {"id": "0", "completion": "x", "reference": {"tests": TESTS, "limits": {"cpu_multiplier": bad}}}
        )
