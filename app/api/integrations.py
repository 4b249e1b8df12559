"""Trainer protocols served by the service itself, on the same pipeline as /v1/score:

- `POST /get_reward`: OpenRLHF's remote reward model (`--remote_rm_url http://host:port/get_reward`);
- `POST /slime/reward`: slime's remote reward model (`--rm-type remote_rm --rm-url http://host:port/slime/reward`).

The payload conventions (what a query is, how labels become references) live in app/integrations/ so that the
client-side adapters read them identically. A label that is not a valid reference does not fail the batch: the item
is scored without one (its accuracy reports status `error`), as one bad row must not stop a training run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.convert import to_scoring_items
from app.api.deps import ServicesDep, SettingsDep
from app.api.schemas import ScoreItem
from app.config import Settings
from app.errors import InvalidRequest, PayloadTooLarge
from app.integrations import openrlhf, slime
from app.rewards.pipeline import ItemOutcome
from app.services import Services

log = logging.getLogger("arbiter.integrations")

router = APIRouter(tags=["integrations"])


class OpenRLHFRequest(BaseModel):
    # OpenRLHF may add keys in later versions; unknown ones are ignored rather than refused.
    model_config = ConfigDict(extra="ignore")
    query: list[str] = Field(default_factory=list, description="Prompt + response, decoded with special tokens.")
    prompts: list[str] = Field(default_factory=list, description="The prompts, so that the response can be cut out.")
    labels: list[Any] | None = Field(None, description="Gold answer (math) or tests (code) per query.")
    rewards: str | dict[str, Any] | None = Field(None, description="As /v1/score's rewards; default r1-zero.")


class OpenRLHFResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


class SlimeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str | list[Any] | None = None
    response: str | list[Any]
    label: Any = None
    rewards: str | dict[str, Any] | None = None


async def _score(
    raw_items: Sequence[dict[str, Any]], rewards: str | dict[str, Any] | None, services: Services, settings: Settings
) -> list[ItemOutcome]:
    if len(raw_items) > settings.max_items:
        raise PayloadTooLarge(
            f"{len(raw_items)} items in one request, the limit is {settings.max_items} (ARBITER_MAX_ITEMS)"
        )
    items: list[ScoreItem] = []
    for raw in raw_items:
        if len(raw["completion"]) > settings.max_completion_chars:
            raise PayloadTooLarge(
                f"item {raw['id']}: response of {len(raw['completion'])} characters, the limit is "
                f"{settings.max_completion_chars} (ARBITER_MAX_COMPLETION_CHARS)"
            )
        try:
            items.append(ScoreItem.model_validate(raw))
        except ValidationError as exc:
            log.warning(
                "item %s: label is not a valid reference (%s); scored without one", raw["id"], exc.errors()[0]["msg"]
            )
            items.append(ScoreItem.model_validate({k: v for k, v in raw.items() if k not in ("reference", "task")}))
    selection = services.pipeline.resolve(rewards)
    return await services.pipeline.score(to_scoring_items(items, services.tags), selection)


@router.post("/get_reward", response_model=OpenRLHFResponse)
async def get_reward(body: OpenRLHFRequest, services: ServicesDep, settings: SettingsDep) -> OpenRLHFResponse:
    """OpenRLHF remote reward: rewards (weighted sum), scores (accuracy) and one log list per component."""
    try:
        raw_items = openrlhf.build_items(body.query, body.prompts, body.labels)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    outcomes = await _score(raw_items, body.rewards, services, settings)
    return OpenRLHFResponse(**openrlhf.build_response([o.reward for o in outcomes], [o.components for o in outcomes]))


@router.post("/slime/reward")
async def slime_reward(body: SlimeRequest, services: ServicesDep, settings: SettingsDep) -> dict[str, Any]:
    """slime remote reward: `reward`, each component (top level and under `components`), status and reason."""
    raw = slime.build_item(body.prompt, body.response, body.label)
    (outcome,) = await _score([raw], body.rewards, services, settings)
    return slime.build_response(outcome.reward, outcome.components, outcome.status, outcome.reason)
