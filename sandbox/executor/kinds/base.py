"""What a test-kind module declares (one subclass per kind)."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from ..verdicts import Finished

TestKind = Literal["stdio", "call", "assert"]


class Kind:
    name: ClassVar[TestKind]
    #: the child's fd 3 carries the harness's report
    result_pipe: ClassVar[bool] = False
    #: a fresh nonce per test on the child's fd 4, echoed in the report after the test's own end
    needs_nonce: ClassVar[bool] = False
    #: languages whose tests of this kind the kind runs itself (run(executor, job, test, src, cwd, limits) ->
    #: (outcome, pgid)), not as one process
    own_run_languages: ClassVar[frozenset[str]] = frozenset()

    def stdin(self, test: Any) -> bytes:
        return b""

    def finish(self, outcome: dict[str, Any], finished: Finished, nonce: bytes | None) -> dict[str, Any]:
        """Turn a test that ran to completion ("OK") into what the harness's report says."""
        return outcome

    @staticmethod
    def report(finished: Finished) -> Any:
        try:
            return json.loads(finished.result.decode("utf-8")) if finished.result else None
        except ValueError:
            return None


def note(outcome: dict[str, Any], message: str) -> None:
    outcome["stderr"] = (outcome["stderr"] + "\narbiter: " + message).strip()
