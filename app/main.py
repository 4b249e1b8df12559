"""The app factory. Nothing happens at import time: pools are built in the lifespan, from one Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import catalogue, integrations
from app.api.routes import router
from app.config import Settings
from app.errors import install_error_handlers
from app.services import Services


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(settings)
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Arbiter",
        version=__version__,
        summary="Rule-based rewards for RL on reasoning models: format, math, sandboxed code.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(catalogue.router)
    app.include_router(integrations.router)  # OpenRLHF /get_reward, slime /slime/reward
    return app
