"""HTTP routes of the scoring API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app import __version__
from app.api.deps import ScorerDep, ServicesDep
from app.api.errors import SCORING_ERRORS, error_responses
from app.api.json_response import EchoSafeJSONResponse
from app.api.schemas import Health, Readiness, ScoreRequest, ScoreResponse
from app.rewards.advantages import group_advantages
from app.rewards.pipeline import ItemOutcome

router = APIRouter()


@router.post("/v1/score", response_model=ScoreResponse, tags=["scoring"], responses=SCORING_ERRORS)
async def score(body: ScoreRequest, scorer: ScorerDep) -> EchoSafeJSONResponse:
    """Score a batch of completions; one result per item, in request order."""
    items, selection = scorer.intake(body.items, body.rewards)
    outcomes = await scorer.score(items, selection)
    advantages: list[float | None] = [None] * len(outcomes)
    if body.advantages is not None:
        # Items Arbiter could not judge stay out of the group baselines and get 0 (docs/advantages.md); the
        # advantages of judged items are finite numbers whatever their rewards.
        advantages = list(
            group_advantages(
                [o.reward if o.judged else None for o in outcomes],
                [item.group for item in body.items],
                scale=body.advantages.scale,
                eps=body.advantages.eps,
            )
        )
    # The results as plain dicts in ItemResult's field order, encoded in one pass (app/api/json_response.py):
    # validating 512 ItemResult models only to serialize them again cost more than scoring a plain-number batch.
    # The pipeline's types already are the schema's (tests/app/api/test_score_response.py holds the two together).
    return EchoSafeJSONResponse({"results": [item_result(o, a) for o, a in zip(outcomes, advantages, strict=True)]})


def item_result(o: ItemOutcome, advantage: float | None) -> dict[str, Any]:
    """One ItemResult of the response, as the dict its model would serialize to."""
    return {
        "id": o.id,
        "reward": float(o.reward),
        "components": {name: float(value) for name, value in o.components.items()},
        "status": o.status,
        "judged": o.judged,
        "reason": o.reason,
        "details": o.details,
        "advantage": None if advantage is None else float(advantage),
    }


@router.get("/healthz", response_model=Health, tags=["operations"])
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(version=__version__)


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["operations"],
    responses={**error_responses(), 503: {"model": Readiness, "description": "not ready"}},
)
async def readyz(services: ServicesDep) -> EchoSafeJSONResponse:
    """Readiness: math workers up and a sandbox able to run code. 503 while not."""
    ready, math, sandbox = services.readiness()
    readiness = Readiness(ready=ready, math=math, sandbox=sandbox)
    return EchoSafeJSONResponse(readiness.model_dump(mode="json"), status_code=200 if readiness.ready else 503)
