"""Arbiter on Ray Serve: a composition root over create_app, like `arbiter serve` but one engine per replica.

Each replica of the `arbiter` deployment owns one scoring engine (math worker pool + sandbox pool, bwrap by
default: Ray nodes rarely run a Docker engine) and serves the same HTTP API as `arbiter serve` (FastAPI ingress:
every route, status code and error body is create_app's own). What Ray adds:

- a large POST /v1/score is cut into parts (app/batch_split.py: GRPO groups whole) and the parts go to replicas
  through this deployment's own handle, so that one big batch is scored by many replicas at once; results are put
  back in request order. A part whose replica dies (node lost, downscaled) is sent again to another replica;
- `check_health` is the engine's readiness (/readyz): Serve restarts a replica whose engine cannot score;
- on downscale Serve stops routing to the replica, waits for its requests in flight (graceful_shutdown_*), then
  the ASGI lifespan closes the engine (math workers killed, sandbox workers removed).

Run it: `serve run deploy/ray/serve.yaml` (or `serve deploy` on a running cluster; KubeRay: deploy/kubernetes/).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import ray
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError
from ray import serve
from ray.exceptions import RayActorError
from ray.serve.handle import DeploymentHandle

from app.api.schemas import ScoreRequest
from app.batch_split import plan_parts
from app.config import Settings
from app.main import create_app

log = logging.getLogger("arbiter.ray")

PART_HEADER = "x-arbiter-part"  # set on a part: the replica scores it itself, never splits it again
REPLICAS_HEADER = "x-arbiter-replicas"  # which replicas (replica@node) scored the parts of a split batch
# Headers a part carries over from the client's request: auth, request id, content type.
FORWARDED_HEADERS = ("authorization", "x-api-key", "x-request-id")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RayServeArgs(BaseModel):
    """Application arguments (`args:` in deploy/ray/serve.yaml). Engine settings stay ARBITER_* variables
    (runtime_env.env_vars), read by each replica."""

    part_items: int = Field(256, ge=1, description="A /v1/score batch larger than this is split across replicas.")
    part_attempts: int = Field(4, ge=1, description="Tries of one part when its replica dies under it.")
    sandbox_backend: Literal["auto", "docker", "bwrap"] = Field(
        "bwrap", description="Sandbox backend of the replicas unless ARBITER_SANDBOX_BACKEND is set."
    )


@dataclass(frozen=True)
class PartRequest:
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PartReply:
    """What `score_part` returns, as plain data over the handle (the in-cluster client has no `app` package)."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    replica: str

    def results(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = json.loads(self.body)["results"]
        return results

    def to_wire(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "headers": list(self.headers), "replica": self.replica}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> PartReply:
        return cls(int(data["status"]), data["body"], tuple(tuple(h) for h in data["headers"]), str(data["replica"]))


def replica_settings(args: RayServeArgs, env: MutableMapping[str, str], assigned_cpus: float | None) -> Settings:
    """Settings of one replica: ARBITER_* as usual, but worker counts follow the replica's CPUs (not the node's
    cores, which other replicas share) and the sandbox backend defaults to bwrap."""
    settings = Settings()
    cpus = max(1, int(assigned_cpus)) if assigned_cpus else None
    math, sandbox = settings.math, settings.sandbox
    if cpus is not None and "ARBITER_MATH_WORKERS" not in env:
        math = math.model_copy(update={"workers": cpus})
    if cpus is not None and "ARBITER_SANDBOX_WORKERS" not in env:
        sandbox = sandbox.model_copy(update={"workers": cpus})
    if "ARBITER_SANDBOX_BACKEND" not in env:
        sandbox = sandbox.model_copy(update={"backend": args.sandbox_backend})
    return settings.model_copy(update={"math": math, "sandbox": sandbox})


def _plan(body: bytes, settings: Settings, part_items: int) -> list[list[int]] | None:
    """Parts of a valid batch worth splitting, else None: the replica then handles the request whole, so that an
    invalid request gets create_app's own error with item indices of the request as sent."""
    try:
        request = ScoreRequest.model_validate_json(body)
    except ValidationError:
        return None
    n = len(request.items)
    if n <= part_items or n > settings.max_items:
        return None
    if any(len(item.completion) > settings.max_completion_chars for item in request.items):
        return None
    if request.advantages is not None and request.advantages.scale == "batch":
        return None  # the batch-wide std needs every item in one place
    parts = plan_parts([item.group for item in request.items], part_items)
    return parts if len(parts) > 1 else None


def _part_body(payload: dict[str, Any], indices: list[int]) -> bytes:
    items = payload["items"]
    return json.dumps({**payload, "items": [items[i] for i in indices]}).encode()


class BatchSplitMiddleware:
    """Outermost ASGI layer of a replica: cuts a large POST /v1/score into parts scored by several replicas."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        part_items: int,
        send_part: Callable[[PartRequest], Awaitable[PartReply]],
    ) -> None:
        self.app = app
        self.settings = settings
        self.part_items = part_items
        self.send_part = send_part

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v1/score":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if PART_HEADER in headers:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        parts = _plan(body, self.settings, self.part_items)
        if parts is None:
            await self.app(scope, _replay(body), send)
            return
        payload = json.loads(body)
        forwarded = tuple((k, v) for k, v in headers.items() if k in FORWARDED_HEADERS)
        replies = await asyncio.gather(*(self.send_part(PartRequest(_part_body(payload, p), forwarded)) for p in parts))
        failed = next((r for r in replies if r.status != 200), None)
        if failed is not None:
            # The whole batch fails as its first failing part did (401, 429 with Retry-After, 503...): the
            # client's retry and back-off rules then apply to the batch as if it had not been split.
            await _respond(send, failed.status, failed.body, failed.headers)
            return
        results: list[dict[str, Any] | None] = [None] * len(payload["items"])
        for indices, reply in zip(parts, replies, strict=True):
            for i, result in zip(indices, reply.results(), strict=True):
                results[i] = result
        served = ",".join(dict.fromkeys(r.replica for r in replies))
        await _respond(
            send,
            200,
            json.dumps({"results": results}).encode(),
            (("content-type", "application/json"), (REPLICAS_HEADER, served)),
        )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # as a real connection: nothing more until the response is done
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _respond(send: Send, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers if k != "content-length"]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@serve.deployment(
    name="arbiter",
    # One engine per replica: its math workers and sandbox workers take these CPUs (replica_settings).
    ray_actor_options={"num_cpus": 2},
    # Spread over nodes: a replica's engine sizes itself to its CPUs and two on one node would share cores.
    max_replicas_per_node=1,
    # Parts of split batches count as requests too: scale on what is queued, not on connections.
    autoscaling_config={"min_replicas": 1, "max_replicas": 8, "target_ongoing_requests": 2},
    # Above the autoscaling target: an ingress request waiting on its parts holds a slot while its parts need
    # slots on other replicas; the engine's own admission control (ARBITER_MAX_ITEMS_IN_FLIGHT) bounds the work.
    max_ongoing_requests=32,
    health_check_period_s=10,
    health_check_timeout_s=30,
    # Draining on downscale: no new requests, up to graceful_shutdown_timeout_s for those in flight.
    graceful_shutdown_wait_loop_s=2,
    graceful_shutdown_timeout_s=120,
)
@serve.ingress()
class ArbiterReplica:
    def __init__(self, args: RayServeArgs | dict[str, Any] | None = None) -> None:
        self._args = args if isinstance(args, RayServeArgs) else RayServeArgs.model_validate(args or {})
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
        self._settings = replica_settings(self._args, os.environ, cpus)
        self._app: FastAPI | None = None
        self._handle: DeploymentHandle | None = None
        context = serve.get_replica_context()
        node = ray.get_runtime_context().get_node_id()
        self._name = f"{context.replica_tag}@{node[:12]}"

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = create_app(self._settings)
        app.add_middleware(
            BatchSplitMiddleware,
            settings=self._settings,
            part_items=self._args.part_items,
            send_part=self._send_part,
        )
        self._app = app
        return app

    async def score_part(self, body: bytes, headers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """Score one part (a /v1/score request body) here, through the same HTTP stack as any request (auth,
        admission, validation). Called over the deployment handle: by other replicas, and by trainers inside the
        cluster (client/arbiter_client/ray_handle.py). Plain data in and out: {status, body, headers, replica}."""
        assert self._app is not None, "the ASGI app is built before the replica takes requests"
        transport = httpx.ASGITransport(app=self._app)
        sent = [*(headers or ()), (PART_HEADER, "1"), ("content-type", "application/json")]
        async with httpx.AsyncClient(transport=transport, base_url="http://replica", timeout=None) as client:
            response = await client.post("/v1/score", content=body, headers=sent)
        kept = tuple((k, v) for k, v in response.headers.items() if k in ("content-type", "retry-after"))
        return PartReply(response.status_code, response.content, kept, self._name).to_wire()

    async def _send_part(self, part: PartRequest) -> PartReply:
        if self._handle is None:
            context = serve.get_replica_context()
            self._handle = serve.get_deployment_handle(context.deployment, context.app_name)
        last: RayActorError | None = None
        for attempt in range(self._args.part_attempts):
            try:
                wire: dict[str, Any] = await self._handle.score_part.remote(part.body, list(part.headers))
                return PartReply.from_wire(wire)
            except RayActorError as exc:  # includes ActorDiedError and ActorUnavailableError
                # The replica went away with the part (node lost, downscaled): scoring is idempotent, so the
                # part goes again, to a live replica once the router has heard of the death.
                last = exc
                log.warning("part of %d bytes lost with its replica (%s); attempt %d", len(part.body), exc, attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
        detail = f"a part of the batch could not be scored: its replicas died {self._args.part_attempts} times ({last})"
        body = json.dumps({"code": "replica_lost", "detail": detail + "; retry the request"}).encode()
        return PartReply(503, body, (("content-type", "application/json"), ("retry-after", "2")), self._name)

    async def check_health(self) -> None:
        """Serve's health check is the engine's readiness: a replica whose engine cannot score is restarted."""
        services = self._app.state.services if self._app is not None else None
        if services is None:
            raise RuntimeError("the scoring engine is not running")
        ready, _math, sandbox = services.readiness()
        if not ready:
            raise RuntimeError(f"the scoring engine is not ready: {sandbox.get('reason')}")


def build(args: dict[str, Any]) -> serve.Application:
    """Application builder for `serve run` / `serve deploy` (import_path: app.ray_serve:build)."""
    # serve.deployment returns a Deployment, but its annotations give back the decorated class.
    return ArbiterReplica.bind(RayServeArgs.model_validate(args))  # type: ignore[attr-defined]
