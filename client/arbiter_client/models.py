"""The client's plain data: its configuration and one item's result (the API's JSON, typed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from arbiter_client.errors import ArbiterProtocolError

#: What the server returns in `status`, plus "fallback": the client gave up on the item (deadline, dead server).
ResultStatus = Literal["ok", "timeout", "error", "sandbox_unavailable", "fallback"]
#: "raise": a request the server refuses (401, 422) raises; "fallback": its items get the fallback reward.
ErrorPolicy = Literal["raise", "fallback"]
#: The API's advantage scales (docs/advantages.md); the server computes them.
Scale = Literal["group", "batch", "none"]
#: The selection of rewards of a request: a profile name or {component: parameters}.
Rewards = Mapping[str, Any] | str


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """One item's result, in the order of the request's items."""

    id: str
    reward: float
    components: dict[str, float]
    status: ResultStatus
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: Filled when `score(..., advantages=...)` asked for them (0.0 for items not ok).
    advantage: float | None = None
    #: The server's `judged` field when its response has one; None for older servers (then `status` decides).
    judged_field: bool | None = None

    @property
    def is_fallback(self) -> bool:
        return self.status == "fallback"

    @property
    def judged(self) -> bool:
        """Whether Arbiter judged the item. A wrong answer is judged (accuracy 0); a timeout, an error, an
        unavailable sandbox or a client fallback is not, and must not be read as a reward of 0.

        The server says so in `judged` (added to the API after `status`); a server without the field is read from
        the status: judged exactly when `ok`. A client fallback is never judged, whatever was received."""
        if self.status == "fallback":
            return False
        if self.judged_field is not None:
            return self.judged_field
        return self.status == "ok"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreResult:
        try:
            return cls(
                id=str(data["id"]),
                reward=float(data["reward"]),
                components={str(k): float(v) for k, v in dict(data.get("components") or {}).items()},
                status=data["status"],
                reason=data.get("reason"),
                details=dict(data.get("details") or {}),
                advantage=None if data.get("advantage") is None else float(data["advantage"]),
                judged_field=_judged(data.get("judged")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArbiterProtocolError(f"malformed result {data!r}: {exc}") from None


def _judged(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"judged is a boolean, not {value!r}")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Every knob of both clients (the constructors take the same keywords)."""

    base_urls: tuple[str, ...]
    api_key: str | None = None
    #: Items per request. The server's default limit is 4096 (ARBITER_MAX_ITEMS); smaller chunks spread better.
    chunk_size: int = 256
    #: Requests in flight at once for one `score` call.
    max_concurrency: int = 4
    #: Wall-clock budget of one `score` call; unfinished items then fall back. None: no deadline (not advised).
    deadline_s: float | None = 300.0
    #: Cap on one HTTP request (it is also cut to what is left of the deadline).
    request_timeout_s: float = 120.0
    #: Attempts per chunk beyond the first, across all replicas.
    max_retries: int = 6
    backoff_base_s: float = 0.25
    backoff_max_s: float = 8.0
    #: How long a replica that refused a connection is skipped.
    cooldown_s: float = 5.0
    fallback_reward: float = 0.0
    errors: ErrorPolicy = "raise"
    #: Default `rewards` selection of requests (None: the server's default profile).
    rewards: Rewards | None = None

    def __post_init__(self) -> None:
        if not self.base_urls:
            raise ValueError("give at least one base URL")
        if self.chunk_size < 1 or self.max_concurrency < 1 or self.max_retries < 0:
            raise ValueError("chunk_size and max_concurrency must be >= 1, max_retries >= 0")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise ValueError("deadline_s must be > 0 (or None)")
        if self.errors not in ("raise", "fallback"):
            raise ValueError(f"errors must be 'raise' or 'fallback', not {self.errors!r}")

    @classmethod
    def build(cls, base_urls: str | Sequence[str], **options: Any) -> ClientConfig:
        """From the constructors' arguments: one URL or several, trailing slashes dropped."""
        urls = (base_urls,) if isinstance(base_urls, str) else tuple(base_urls)
        return cls(base_urls=tuple(u.rstrip("/") for u in urls), **options)
