"""GET /v1/rewards: what a request may name in `rewards`, read from the running pipeline so it cannot drift
from what /v1/score accepts: every reward with its parameters (JSON schema of its Params model, defaults
included) and every profile with the parameters it sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import ServicesDep
from app.api.errors import error_responses
from app.rewards.base import AnyReward, needs_of
from app.rewards.pipeline import Pipeline
from app.rewards.profiles import DEFAULT_PROFILE

router = APIRouter()


class RewardInfo(BaseModel):
    name: str
    description: str
    needs: list[str] = Field(description="Components this reward reads; added with weight 0 when not requested.")
    defaults: dict[str, Any] = Field(description="Every parameter with its default value.")
    parameters: dict[str, Any] = Field(description="JSON schema of the parameters (types, bounds, descriptions).")


class ProfileInfo(BaseModel):
    name: str
    description: str
    default: bool
    rewards: dict[str, dict[str, Any]] = Field(description="Reward → parameters the profile sets (others default).")


class Catalogue(BaseModel):
    rewards: list[RewardInfo]
    profiles: list[ProfileInfo]


def reward_info(reward: AnyReward) -> RewardInfo:
    params = reward.Params
    return RewardInfo(
        name=reward.name,
        description=reward.description,
        needs=list(needs_of(reward)),
        defaults=params().model_dump(mode="json"),
        parameters=params.model_json_schema(),
    )


def catalogue(pipeline: Pipeline) -> Catalogue:
    profiles = [
        ProfileInfo(
            name=p.name, description=p.description, default=p.name == DEFAULT_PROFILE, rewards=_plain(p.rewards)
        )
        for p in pipeline.profiles.values()
    ]
    return Catalogue(rewards=[reward_info(r) for r in pipeline.rewards.values()], profiles=profiles)


def _plain(rewards: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: dict(params) for name, params in rewards.items()}


@router.get("/v1/rewards", response_model=Catalogue, tags=["scoring"], responses=error_responses())
async def list_rewards(services: ServicesDep) -> Catalogue:
    """Every reward and profile a request may name, with parameters and defaults."""
    return catalogue(services.pipeline)
