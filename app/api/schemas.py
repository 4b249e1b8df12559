"""Request and response models of the HTTP API: the contract with trainers. Fields may be added, never renamed.

The item and reference models are the intake's (app/intake.py, app/references.py): every door validates items
against the same models. This module adds what only HTTP has: the request's options and the response shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.code_formats import BuiltinChecker, DatasetTests, Interactor, ProgramChecker, Subtask
from app.intake import OpenRLHFRequest, RewardSelection, RewardsField, ScoreItem, SlimeRequest
from app.references import AssertTests, CodeLimits, IOTests, Language, Reference, StdioCase

__all__ = [
    "AdvantageOptions",
    "AssertTests",
    "BuiltinChecker",
    "CodeLimits",
    "DatasetTests",
    "Health",
    "IOTests",
    "Interactor",
    "ItemResult",
    "Language",
    "OpenRLHFRequest",
    "OpenRLHFResponse",
    "ProgramChecker",
    "Readiness",
    "Reference",
    "RewardSelection",
    "ScoreItem",
    "ScoreRequest",
    "ScoreResponse",
    "SlimeRequest",
    "StdioCase",
    "Subtask",
]


class _Model(BaseModel):
    # Strict and finite, as the intake's models (app/references.py): the OpenAPI document is the truth.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class AdvantageOptions(_Model):
    """GRPO group-relative advantages over the request's items (app/rewards/advantages.py, docs/advantages.md)."""

    scale: Literal["group", "batch", "none"] = Field(
        "group",
        description="group: (r - group mean) / (group std + eps), GRPO; batch: (r - group mean) / (batch std + eps), "
        "TRL's scale_rewards=batch; none: r - group mean, Dr. GRPO. std is the sample std (n - 1), as torch.std.",
    )
    eps: float = Field(1e-6, ge=0, description="Added to the std; verl's default 1e-6 (TRL uses 1e-4).")


class ScoreRequest(_Model):
    items: list[ScoreItem]
    advantages: AdvantageOptions | None = Field(
        None, description="Also return each item's group-relative advantage (items share a group through `group`)."
    )
    rewards: RewardsField = Field(
        None,
        description='A profile name ("r1-zero", "r1", "dapo", "open-r1"), or components and their parameters, '
        'e.g. {"format": {"weight": 1}, "accuracy": {"weight": 1}}, optionally on top of a profile: '
        '{"profile": "dapo", "overlong": {"max_len": 8192}}. Default: the r1-zero profile (format and accuracy, '
        "weight 1). GET /v1/rewards lists rewards, profiles and parameters.",
    )


class ItemResult(BaseModel):
    id: str
    reward: float = Field(description="Weighted sum of components; 0 when the item is not judged.")
    components: dict[str, float]
    status: Literal["ok", "timeout", "error", "sandbox_unavailable"]
    judged: bool = Field(
        description="False when Arbiter could not judge the item (status is not ok: a sandbox fault, a deadline, an "
        "unsupported language, no sandbox, a bad reference): then reward and every component are 0 and carry no "
        "signal; leave the row out of training (TRL: None)."
    )
    reason: str | None = Field(None, description="Why status is not ok.")
    details: dict[str, dict[str, Any]] = Field(default_factory=dict)
    advantage: float | None = Field(
        None,
        description="Group-relative advantage, when the request asked for `advantages` (then always a number); 0 "
        "for items not judged.",
    )


class ScoreResponse(BaseModel):
    results: list[ItemResult]


class OpenRLHFResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class Readiness(BaseModel):
    ready: bool
    math: dict[str, Any]
    sandbox: dict[str, Any]
