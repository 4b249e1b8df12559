"""Call-based tests (Python): the harness calls fn_name(*args) and reports the return value as plain JSON; the
judge compares it in the service. No report (the program exited before returning) is RE."""

from __future__ import annotations

from typing import Any

from ..verdicts import Finished, Verdict
from .base import Kind, note


class Call(Kind):
    name = "call"
    result_pipe = True

    def finish(self, outcome: dict[str, Any], finished: Finished, nonce: bytes | None) -> dict[str, Any]:
        rep = self.report(finished)
        if not isinstance(rep, dict) or rep.get("ok") is not True or "value" not in rep:
            outcome["verdict"] = Verdict.RE
            note(outcome, "the function returned no value (exited early?)")
        else:
            outcome["return_value"] = rep["value"]
        return outcome
