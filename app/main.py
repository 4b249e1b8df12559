"""The app factory. Nothing happens at import time: pools are built in the lifespan, from one Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import __version__
from app import metrics as metrics_api
from app.api import catalogue, integrations
from app.api import languages as languages_api
from app.api.admission import Admission, AdmissionMiddleware
from app.api.errors import install_error_handlers
from app.api.json_response import EchoSafeJSONResponse
from app.api.routes import router
from app.auth import ApiKeyMiddleware
from app.config import Settings
from app.metrics import Metrics
from app.observability import RequestContextMiddleware, RequestLogObserver
from app.services import Services


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()  # per app: several apps in one process must not share metric names
    admission = Admission(
        settings.max_items_in_flight,
        settings.retry_after_s,
        max_bytes=settings.max_bytes_in_flight,
        wait_s=settings.admission_wait_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(
            settings,
            observers=(metrics, RequestLogObserver()),
            observe_stage=metrics.observe_stage,
        )
        app.state.services = services
        admission.open()
        try:
            yield
        finally:
            # Reached after the server stopped accepting and the requests in flight finished (or the grace
            # period of `arbiter serve` ran out): refuse stragglers, then remove workers and sandbox containers.
            admission.drain()
            app.state.services = None
            await services.close()

    app = FastAPI(
        title="Arbiter",
        version=__version__,
        summary="Rule-based rewards for RL on reasoning models: format, math, sandboxed code.",
        lifespan=lifespan,
        # Every response through the one encoder that cannot fail on echoed text (app/api/json_response.py).
        default_response_class=EchoSafeJSONResponse,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.admission = admission
    app.state.services = None
    metrics.watch(lambda: app.state.services, admission)
    install_error_handlers(app)
    # integrations: OpenRLHF /get_reward, slime /slime/reward
    routers = (router, catalogue.router, languages_api.router, metrics_api.router, integrations.router)
    for included in routers:
        app.include_router(included)
    # Every POST route scores (/v1/score and the trainer protocols): admission reads and bounds their bodies.
    scoring = {
        route.path
        for included in routers
        for route in included.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    }
    # add_middleware puts each one outside the previous: admission (innermost), auth, then request context
    # outermost, so that 401s and 429s get a request id, a log line and a count too.
    app.add_middleware(
        AdmissionMiddleware, admission=admission, max_request_bytes=settings.max_request_bytes, paths=scoring
    )
    if settings.api_keys:
        app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
