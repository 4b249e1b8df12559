"""The scoring layer's errors: what went wrong with a request, in words that say what to do next.

They carry no HTTP status: the HTTP layer (app/api/errors.py) maps each kind to a status code and the
`{"code", "detail"}` body; the offline scorer (app/offline.py) writes the detail into the output as it is.
"""

from __future__ import annotations


class ArbiterError(Exception):
    """Base of every error a client may see; `detail` is the whole message."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(ArbiterError):
    """The request is malformed: `detail` names the faulty field (`items.3.reference: ...`)."""


class LimitExceeded(ArbiterError):
    """The request is well formed but over one of the service's limits (ARBITER_MAX_ITEMS, ...)."""
