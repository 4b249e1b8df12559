"""Assert-style tests (HumanEval): the test code runs with the program and the harness reports the test's nonce
after the test's own end. Anything else (an early exit with status 0 included) is WA: the test did not complete."""

from __future__ import annotations

from typing import Any

from ..verdicts import Finished, Verdict
from .base import Kind, note


class Assert(Kind):
    name = "assert"
    result_pipe = True
    needs_nonce = True

    def finish(self, outcome: dict[str, Any], finished: Finished, nonce: bytes | None) -> dict[str, Any]:
        rep = self.report(finished)
        if (
            nonce is None
            or not isinstance(rep, dict)
            or rep.get("ok") is not True
            or rep.get("nonce") != nonce.decode()
        ):
            outcome["verdict"] = Verdict.WA
            note(outcome, "the test did not run to its end (check(candidate) did not complete)")
        else:
            outcome["verdict"] = Verdict.AC
        return outcome
