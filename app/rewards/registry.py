"""The catalogue of rewards a request may name, built once per service from its pools and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.completion import TagConfig
from app.rewards.accuracy import AccuracyReward
from app.rewards.base import AnyReward
from app.rewards.code_accuracy import CodeAccuracy
from app.rewards.cosine import CosineReward
from app.rewards.format import FormatReward
from app.rewards.language import LanguageReward
from app.rewards.length import LengthReward
from app.rewards.math_accuracy import MathAccuracy
from app.rewards.overlong import OverlongReward
from app.rewards.reasoning_steps import ReasoningStepsReward
from app.rewards.repetition import RepetitionReward
from app.rewards.tag_count import TagCountReward

if TYPE_CHECKING:
    from app.config import Settings
    from app.math import MathWorkerPool
    from app.sandbox_runtime import SandboxRuntime


def build_rewards(
    *,
    tags: TagConfig,
    math: MathWorkerPool,
    sandbox: SandboxRuntime,
    settings: Settings,
    observe_stage: Callable[[str, float], None] | None = None,
) -> dict[str, AnyReward]:
    rewards: list[AnyReward] = [
        FormatReward(tags),
        AccuracyReward(MathAccuracy(math, observe_stage), CodeAccuracy(sandbox, settings.sandbox)),
        LanguageReward(),
        LengthReward(),
        CosineReward(),
        OverlongReward(),
        RepetitionReward(),
        ReasoningStepsReward(),
        TagCountReward(tags),
    ]
    return {reward.name: reward for reward in rewards}
