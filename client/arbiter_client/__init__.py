"""Client of the Arbiter reward service, for training loops: `ArbiterClient` (sync) and `AsyncArbiterClient`.

httpx and the standard library only, so a trainer's environment gets nothing of the server. What a `score` call
does (chunks keeping GRPO groups together, fail-over across replicas, retries honouring Retry-After, an overall
deadline after which unscored items come back as fallbacks, never an exception for a slow or dead server) is
decided in `arbiter_client.core`, which both clients drive. Trainer adapters: `arbiter_client.adapters`.

    with ArbiterClient(["http://arbiter-0:8000", "http://arbiter-1:8000"], deadline_s=120) as client:
        results = client.score([{"id": "0", "completion": text, "reference": {"answer": "42"}}])
        rewards = [r.reward for r in results]
"""

from arbiter_client.async_client import AsyncArbiterClient
from arbiter_client.errors import (
    ArbiterAuthError,
    ArbiterClientError,
    ArbiterConnectionError,
    ArbiterFallbackWarning,
    ArbiterHTTPError,
    ArbiterInvalidRequest,
    ArbiterProtocolError,
)
from arbiter_client.models import ClientConfig, ResultStatus, Scale, ScoreResult
from arbiter_client.sync_client import ArbiterClient

__all__ = [
    "ArbiterAuthError",
    "ArbiterClient",
    "ArbiterClientError",
    "ArbiterConnectionError",
    "ArbiterFallbackWarning",
    "ArbiterHTTPError",
    "ArbiterInvalidRequest",
    "ArbiterProtocolError",
    "AsyncArbiterClient",
    "ClientConfig",
    "ResultStatus",
    "Scale",
    "ScoreResult",
]
