"""The JSON contract between the service (sandbox/pool.py) and the executor (sandbox/executor.py).

Expected outputs are not part of it: they never enter the sandbox. The executor returns what the program
printed (capped) or, for call-based tests, the return value as plain JSON; sandbox/judge.py compares outside.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Verdict codes, test kinds and languages have one owner each, in the executor package (stdlib-only, shared by
# both sides of the boundary); re-exported here as the contract's vocabulary.
from .executor.kinds import TEST_KINDS, TestKind
from .executor.languages import LANGUAGES, LanguageName
from .executor.verdicts import RAN_OK, VERDICTS, RanOK, Verdict

__all__ = [
    "LANGUAGES",
    "RAN_OK",
    "TEST_KINDS",
    "VERDICTS",
    "CompileLimits",
    "Job",
    "JobOutcome",
    "LanguageName",
    "Limits",
    "RanOK",
    "TestKind",
    "TestOutcome",
    "Verdict",
]


@dataclass(frozen=True)
class Limits:
    """Per-test limits. wall_s=None means 2 * cpu_s + 1."""

    cpu_s: float = 2.0
    wall_s: float | None = None
    memory_mb: int = 256
    max_output_bytes: int = 1 << 20
    max_processes: int = 32
    file_size_mb: int = 16
    open_files: int = 64

    @property
    def effective_wall_s(self) -> float:
        return float(self.wall_s) if self.wall_s else 2.0 * self.cpu_s + 1.0

    def to_json(self) -> dict[str, Any]:
        # field by field, not dataclasses.asdict (a recursive deep copy): it is framed once per job
        return {
            "cpu_s": self.cpu_s,
            "wall_s": self.effective_wall_s,
            "memory_mb": self.memory_mb,
            "max_output_bytes": self.max_output_bytes,
            "max_processes": self.max_processes,
            "file_size_mb": self.file_size_mb,
            "open_files": self.open_files,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Limits:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class CompileLimits:
    cpu_s: float = 20.0
    wall_s: float = 30.0
    memory_mb: int = 2048
    max_processes: int = 32
    file_size_mb: int = 256
    open_files: int = 256

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu_s": self.cpu_s,
            "wall_s": self.wall_s,
            "memory_mb": self.memory_mb,
            "max_processes": self.max_processes,
            "file_size_mb": self.file_size_mb,
            "open_files": self.open_files,
        }


@dataclass(frozen=True)
class Job:
    """One program and the inputs of its tests, as sent into the sandbox.

    tests: stdio -> list of stdin strings; call -> list of argument lists (JSON); assert -> list of test-code
    strings each defining check(candidate).

    stop_after_failure: after the first test whose verdict is neither OK nor AC (TLE, MLE, RE, OLE; WA of an
    assert test) the executor runs no further test and reports the rest as SKIP."""

    source: str
    language: LanguageName = "python"
    kind: TestKind = "stdio"
    tests: tuple[Any, ...] = ()
    fn_name: str | None = None
    entry_point: str | None = None
    limits: Limits = field(default_factory=Limits)
    compile_limits: CompileLimits = field(default_factory=CompileLimits)
    id: str | None = None
    stop_after_failure: bool = False
    # a custom checker program {"language", "source"} (stdio tests): it runs in the sandbox in its own process
    # under the judge's uid and needs the expected answers, which then (and only then) enter the sandbox
    checker: dict[str, str] | None = None
    answers: tuple[str, ...] | None = None
    # an interactor program {"language", "source"}: connected to the program's stdin/stdout (stdio tests)
    interactor: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "interactor": self.interactor,
            "checker": self.checker,
            "answers": list(self.answers) if self.answers is not None else None,
            "id": self.id,
            "source": self.source,
            "language": self.language,
            "kind": self.kind,
            "tests": list(self.tests),
            "fn_name": self.fn_name,
            "entry_point": self.entry_point,
            "limits": self.limits.to_json(),
            "compile_limits": self.compile_limits.to_json(),
            "stop_after_failure": self.stop_after_failure,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Job:
        return cls(
            source=d["source"],
            language=d.get("language", "python"),
            kind=d.get("kind", "stdio"),
            tests=tuple(d.get("tests") or ()),
            fn_name=d.get("fn_name"),
            entry_point=d.get("entry_point"),
            limits=Limits.from_json(d.get("limits") or {}),
            compile_limits=CompileLimits(**(d.get("compile_limits") or {})),
            id=d.get("id"),
            stop_after_failure=bool(d.get("stop_after_failure")),
            checker=d.get("checker"),
            interactor=d.get("interactor"),
            answers=tuple(d["answers"]) if d.get("answers") is not None else None,
        )

    def key(self) -> str:
        """Hash of everything that determines the execution (for single-flight dedup and caches)."""
        d = self.to_json()
        d.pop("id", None)
        blob = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def protocol_deadline_s(self) -> float:
        """Sum of the per-test wall caps, plus compilation, plus cleanup margins."""
        lang = LANGUAGES[self.language]
        per_test = self.limits.effective_wall_s + 0.5 + (2.5 if self.kind == "assert" else 0.0)  # harness grace
        compile_s = self.compile_limits.wall_s if lang.compiled else 0.0
        if lang.builds_per_test(self.kind):
            per_test += compile_s  # built with each test's code
        checker_s = (30.0 + 20.0 * len(self.tests)) if self.checker else 0.0  # checker compile + runs
        checker_s += (30.0 + 2.5 * len(self.tests)) if self.interactor else 0.0  # interactor compile + grace
        return len(self.tests) * per_test + compile_s + checker_s + 5.0


@dataclass
class TestOutcome:
    """What happened to one test. Inside the executor verdict is one of TLE MLE RE OLE CE SE SKIP, or "OK" (ran
    to completion; for stdio and call tests AC/WA is decided by the judge) or AC/WA for assert tests. After the
    judge (sandbox/judge.py) it is always a Verdict."""

    __test__ = False  # not a pytest test class

    verdict: Verdict | RanOK
    cpu_s: float = 0.0
    wall_s: float = 0.0
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    return_value: Any = None
    truncated: bool = False
    # the test itself could not run (assert test code that does not compile, defines no check): the item's
    # error, never the program's wrong answer
    reference_error: str | None = None
    score: float | None = None  # a checker program's score for this test (partial credit), 0..1
    checker_message: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TestOutcome:
        kw = {k: v for k, v in d.items() if k in _OUTCOME_FIELDS}
        verdict = kw.get("verdict")
        # an unknown code from the executor is a fault of the boundary, never a verdict on the program
        kw["verdict"] = RAN_OK if verdict == RAN_OK else Verdict(verdict) if verdict in VERDICTS else Verdict.SE
        return cls(**kw)


_OUTCOME_FIELDS = frozenset(f.name for f in dataclasses.fields(TestOutcome))


@dataclass
class JobOutcome:
    compile_output: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    dirty: bool = False  # the executor could not clean up: recycle its worker
    compiles: int = 0  # compiler runs of this job
    cached_builds: int = 0  # builds served from the build cache (no compiler run)

    def to_json(self) -> dict[str, Any]:
        return {
            "compile_output": self.compile_output,
            "tests": [t.to_json() for t in self.tests],
            "dirty": self.dirty,
            "builds": {"compiled": self.compiles, "cached": self.cached_builds},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> JobOutcome:
        raw = d.get("builds")
        builds: dict[str, Any] = raw if isinstance(raw, dict) else {}
        return cls(
            compile_output=d.get("compile_output") or "",
            tests=[TestOutcome.from_json(t) for t in d.get("tests") or []],
            dirty=bool(d.get("dirty")),
            compiles=int(builds.get("compiled") or 0),
            cached_builds=int(builds.get("cached") or 0),
        )

    @classmethod
    def system_error(cls, n_tests: int, reason: str) -> JobOutcome:
        return cls(tests=[TestOutcome(verdict=Verdict.SE, stderr=reason) for _ in range(n_tests)])
