"""GET /v1/languages: the languages the running sandbox backend can run, each with its toolchain's version, or
status error with what to install."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import ServicesDep
from app.api.errors import error_responses

router = APIRouter(tags=["operations"])


class LanguageInfo(BaseModel):
    name: str
    status: Literal["ok", "error"]
    version: str | None
    test_kinds: list[str]
    cpu_multiplier: float
    reason: str | None = None


class Languages(BaseModel):
    backend: str | None
    languages: list[LanguageInfo]


@router.get("/v1/languages", response_model=Languages, responses=error_responses())
async def languages(services: ServicesDep) -> Languages:
    """Each language with its toolchain version on the running backend; `error` with a reason when the backend
    lacks it (or no sandbox runs at all)."""
    backend, rows = await services.sandbox.languages()
    return Languages(backend=backend, languages=[LanguageInfo(**row) for row in rows])
