"""HTTP routes of the scoring API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__
from app.api.convert import to_scoring_items
from app.api.deps import ServicesDep, SettingsDep
from app.api.schemas import Health, ItemResult, Readiness, ScoreRequest, ScoreResponse
from app.errors import PayloadTooLarge
from app.rewards.advantages import group_advantages

router = APIRouter()


@router.post("/v1/score", response_model=ScoreResponse, tags=["scoring"])
async def score(body: ScoreRequest, services: ServicesDep, settings: SettingsDep) -> ScoreResponse:
    """Score a batch of completions; one result per item, in request order."""
    if len(body.items) > settings.max_items:
        raise PayloadTooLarge(
            f"items: {len(body.items)} items in one request, the limit is {settings.max_items} "
            "(ARBITER_MAX_ITEMS); split the batch"
        )
    for i, item in enumerate(body.items):
        if len(item.completion) > settings.max_completion_chars:
            raise PayloadTooLarge(
                f"items.{i}.completion: {len(item.completion)} characters, the limit is "
                f"{settings.max_completion_chars} (ARBITER_MAX_COMPLETION_CHARS)"
            )
    selection = services.pipeline.resolve(body.rewards)
    items = to_scoring_items(body.items, services.tags)
    outcomes = await services.pipeline.score(items, selection)
    advantages: list[float | None] = [None] * len(outcomes)
    if body.advantages is not None:
        # Items Arbiter could not judge stay out of the group baselines and get 0 (docs/advantages.md).
        advantages = list(
            group_advantages(
                [o.reward if o.status == "ok" else None for o in outcomes],
                [item.group for item in body.items],
                scale=body.advantages.scale,
                eps=body.advantages.eps,
            )
        )
    return ScoreResponse(
        results=[
            ItemResult(
                id=o.id,
                reward=o.reward,
                components=o.components,
                status=o.status,
                reason=o.reason,
                details=o.details,
                advantage=a,
            )
            for o, a in zip(outcomes, advantages, strict=True)
        ]
    )


@router.get("/healthz", response_model=Health, tags=["operations"])
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(version=__version__)


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["operations"],
    responses={503: {"model": Readiness, "description": "not ready"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness: math workers up and a sandbox able to run code. 503 while not."""
    readiness = services.readiness()
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)
