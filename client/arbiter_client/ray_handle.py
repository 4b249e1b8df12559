"""In-cluster client of Arbiter on Ray Serve: a trainer that runs inside the same Ray cluster (verl, OpenRLHF,
NeMo-RL, SkyRL) scores through the deployment handle, with no HTTP hop and no proxy.

Needs ray (already in the trainer's environment; the client package does not depend on it) and never imports the
server. It sends the same request bodies as POST /v1/score and returns the same result objects (the JSON of each
ItemResult), in request order. A batch is cut into parts by the client's own chunking (GRPO groups whole, sizes
balanced) that the Serve router spreads over replicas; a part whose replica dies is sent again.

    client = RayArbiterClient(app_name="arbiter")
    results = client.score(items, rewards="r1-zero", advantages={})
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

try:
    from ray import serve
    from ray.exceptions import RayActorError
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        f"arbiter_client.ray_handle scores through a Ray Serve handle and needs ray ({exc}): run it inside the "
        "Ray cluster, or use arbiter_client.ArbiterClient over HTTP"
    ) from exc

from arbiter_client.core import plan_chunks


class ArbiterRayError(RuntimeError):
    """A part came back with an HTTP error status (the body's code and detail are in the message)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {body[:500].decode('utf-8', 'replace')}")


def plan_parts(items: Sequence[Mapping[str, Any]], part_items: int) -> list[list[int]]:
    """Index lists of about part_items items with every GRPO group whole, sizes balanced over the parts."""
    if not items:
        return []
    balanced = math.ceil(len(items) / math.ceil(len(items) / part_items))
    return plan_chunks(items, balanced, split_groups=False)


class RayArbiterClient:
    def __init__(
        self,
        app_name: str = "arbiter",
        deployment: str = "arbiter",
        *,
        part_items: int = 256,
        attempts: int = 4,
        api_key: str | None = None,
    ) -> None:
        if part_items < 1 or attempts < 1:
            raise ValueError("part_items and attempts must be >= 1")
        self._handle = serve.get_deployment_handle(deployment, app_name)
        self.part_items = part_items
        self.attempts = attempts
        self._headers = [("authorization", f"Bearer {api_key}")] if api_key else []

    async def ascore(
        self,
        items: Sequence[Mapping[str, Any]],
        rewards: Mapping[str, Any] | str | None = None,
        advantages: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """One result per item, in order. Raises ArbiterRayError on a 4xx/5xx part (e.g. an invalid item)."""
        extra: dict[str, Any] = {}
        if rewards is not None:
            extra["rewards"] = rewards
        if advantages is not None:
            extra["advantages"] = advantages
        if advantages is not None and advantages.get("scale") == "batch":
            parts = [list(range(len(items)))]  # the batch-wide std needs every item in one part
        else:
            parts = plan_parts(items, self.part_items)
        bodies = [json.dumps({"items": [items[i] for i in p], **extra}).encode() for p in parts]
        replies = await asyncio.gather(*(self._send(body) for body in bodies))
        results: list[dict[str, Any]] = [{} for _ in items]
        for indices, part_results in zip(parts, replies, strict=True):
            for i, result in zip(indices, part_results, strict=True):
                results[i] = result
        return results

    def score(
        self,
        items: Sequence[Mapping[str, Any]],
        rewards: Mapping[str, Any] | str | None = None,
        advantages: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Blocking form of ascore, for a trainer's synchronous reward function (not inside a running loop)."""
        return asyncio.run(self.ascore(items, rewards, advantages))

    async def _send(self, body: bytes) -> list[dict[str, Any]]:
        for attempt in range(self.attempts):
            try:
                wire = await self._handle.score_part.remote(body, self._headers)
            except RayActorError:
                # The replica died with the part (node lost, downscaled); scoring is idempotent: send it again.
                if attempt + 1 == self.attempts:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if wire["status"] == 429 or wire["status"] == 503:
                retry_after = dict(wire["headers"]).get("retry-after")
                if attempt + 1 < self.attempts:
                    await asyncio.sleep(float(retry_after) if retry_after else 1.0)
                    continue
            if wire["status"] != 200:
                raise ArbiterRayError(wire["status"], wire["body"])
            results: list[dict[str, Any]] = json.loads(wire["body"])["results"]
            return results
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


__all__ = ["ArbiterRayError", "RayArbiterClient", "plan_parts"]
