"""Trainer protocols served by the service itself, on the same intake and pipeline as /v1/score:

- `POST /get_reward`: OpenRLHF's remote reward model (`--remote_rm_url http://host:port/get_reward`);
- `POST /slime/reward`: slime's remote reward model (`--rm-type remote_rm --rm-url http://host:port/slime/reward`).

The intake (app/intake.py) reads the payloads (what a query is, how labels become references); this module
shapes the answers each trainer reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter

from app.api.deps import ScorerDep
from app.api.errors import SCORING_ERRORS
from app.api.schemas import OpenRLHFRequest, OpenRLHFResponse, SlimeRequest

router = APIRouter(tags=["integrations"])


def openrlhf_response(
    rewards: Sequence[float], components: Sequence[Mapping[str, float]], judged: Sequence[bool]
) -> OpenRLHFResponse:
    """`rewards` is the weighted reward used for advantages; `scores` the accuracy component (OpenRLHF's dynamic
    filtering expects a score in [0, 1]), or the reward when accuracy is not computed; `extra_logs` one list per
    component, which OpenRLHF averages into its logs, and `judged` (1 or 0 per query: OpenRLHF logs the share).
    An unjudged query has reward, score and components 0 (OpenRLHF has no way to skip a sample)."""
    names: list[str] = []
    for comps in components:
        names += [n for n in comps if n not in names]
    scores = [float(c.get("accuracy", r)) for r, c in zip(rewards, components, strict=True)]
    extra_logs = {name: [float(c.get(name, 0.0)) for c in components] for name in names}
    extra_logs["judged"] = [1.0 if j else 0.0 for j in judged]
    return OpenRLHFResponse(rewards=[float(r) for r in rewards], scores=scores, extra_logs=extra_logs)


def slime_response(
    reward: float, components: Mapping[str, float], status: str, reason: str | None, judged: bool
) -> dict[str, Any]:
    """The components also at the top level, so that `--reward-key accuracy` works as `--reward-key reward`."""
    out: dict[str, Any] = dict(components)
    out.update({"reward": reward, "components": dict(components), "status": status, "reason": reason, "judged": judged})
    return out


@router.post("/get_reward", response_model=OpenRLHFResponse, responses=SCORING_ERRORS)
async def get_reward(body: OpenRLHFRequest, scorer: ScorerDep) -> OpenRLHFResponse:
    """OpenRLHF remote reward: rewards (weighted sum), scores (accuracy) and one log list per component."""
    items, selection = scorer.intake(body, body.rewards)
    outcomes = await scorer.score(items, selection)
    return openrlhf_response(
        [o.reward for o in outcomes], [o.components for o in outcomes], [o.judged for o in outcomes]
    )


@router.post("/slime/reward", responses=SCORING_ERRORS)
async def slime_reward(body: SlimeRequest, scorer: ScorerDep) -> dict[str, Any]:
    """slime remote reward: `reward`, each component (top level and under `components`), status and reason."""
    items, selection = scorer.intake(body, body.rewards)
    (outcome,) = await scorer.score(items, selection)
    return slime_response(outcome.reward, outcome.components, outcome.status, outcome.reason, outcome.judged)
