"""Annotated dependencies: routes declare what they need; the lifespan in app/main.py built it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.api.admission import Admission
from app.config import Settings
from app.intake import Payload, RewardsField, selection_of
from app.rewards.base import RewardParams, ScoringItem
from app.rewards.pipeline import ItemOutcome
from app.services import Services


@dataclass(frozen=True, slots=True)
class Scorer:
    """What every scoring route does, in one order: intake, reward selection, admission, pipeline."""

    services: Services
    admission: Admission

    def intake(self, payload: Payload, rewards: RewardsField) -> tuple[list[ScoringItem], dict[str, RewardParams]]:
        """Validated items and the resolved selection; raises InvalidRequest / LimitExceeded."""
        items = self.services.intake.items(payload)
        return items, self.services.pipeline.resolve(selection_of(rewards))

    async def score(self, items: Sequence[ScoringItem], selection: Mapping[str, RewardParams]) -> list[ItemOutcome]:
        """Admit the items (429 / 503 at once when they do not fit) and score them."""
        async with self.admission.admit(len(items)):
            return await self.services.pipeline.score(items, selection)


# async, though they do no I/O: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
# request on the event loop's critical path.
async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_settings(request: Request) -> Settings:
    return request.app.state.services.settings


async def get_scorer(request: Request) -> Scorer:
    return Scorer(request.app.state.services, request.app.state.admission)


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
