"""What the client raises and warns: one root error, the server's refusals by kind, and the fallback warning."""

from __future__ import annotations


class ArbiterClientError(Exception):
    """Root of the client's errors: catch this one to catch everything the client raises."""


class ArbiterConnectionError(ArbiterClientError):
    """No replica could be reached (raised by health checks; `score` falls back instead)."""


class ArbiterProtocolError(ArbiterClientError):
    """The server answered something that is not the API's response (wrong JSON, wrong number of results)."""


class ArbiterHTTPError(ArbiterClientError):
    """The server refused the request; `code` and `detail` are its JSON error."""

    def __init__(self, status_code: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status_code} {code}: {detail}")
        self.status_code = status_code
        self.code = code
        self.detail = detail


class ArbiterAuthError(ArbiterHTTPError):
    """401/403: missing or wrong API key."""


class ArbiterInvalidRequest(ArbiterHTTPError):
    """400/422 (or a 413 on a single item): the request itself is wrong; the detail names the field."""


class ArbiterFallbackWarning(RuntimeWarning):
    """Some items were not scored and got the fallback reward."""
