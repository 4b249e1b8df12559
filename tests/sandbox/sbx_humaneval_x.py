"""HumanEval-X rows (/work/shared/data/humaneval-x, see its README) as sandbox requests, the way a trainer sends
them: the program is the prompt (or declaration) plus a solution, the test is the row's test code with
`reference.language` set (`RunRequest.assert_based`).

Adaptations of the dataset, all on the dataset's side (the sandbox runs what it is given):
- Python: the test's last line `check(<entry point>)` is dropped; the harness calls check(candidate) itself.
- Go: the program is `import + prompt + solution` (some prompts lack the imports the solution uses; the row's
  `import` field has them), the test `test_setup + test`; the Go harness merges both into one file.
- Rust: the declaration's `use rand::Rng; use regex::Regex; use md5;` lines are dropped: external crates do not
  exist in the sandbox (rustc without cargo). Problems whose solution uses them cannot pass (see RUST_NEEDS_CRATES).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from sandbox import RunRequest

DATA = os.environ.get("ARBITER_HUMANEVAL_X", "/work/shared/data/humaneval-x")
FILES = {
    "python": "humaneval_python.jsonl.gz",
    "cpp": "humaneval_cpp.jsonl.gz",
    "java": "humaneval_java.jsonl.gz",
    "javascript": "humaneval_js.jsonl.gz",
    "go": "humaneval_go.jsonl.gz",
    "rust": "humaneval_rust.jsonl.gz",
}
_CRATE_USE = re.compile(r"^\s*use\s+(?:rand|regex|md5)\b[^\n]*\n", re.M)
_CHECK_CALL = re.compile(r"\n\s*check\([A-Za-z_]\w*\)\s*$")


@dataclass(frozen=True)
class Problem:
    task_id: str
    language: str
    program: str  # prompt/declaration + canonical solution
    test_code: str
    entry_point: str | None
    row: dict[str, Any]

    def request(self, program: str | None = None, **kw: Any) -> RunRequest:
        return RunRequest.assert_based(
            self.program if program is None else program,
            self.test_code,
            self.entry_point or "",
            language=self.language,  # type: ignore[arg-type]
            **kw,
        )


def available() -> bool:
    return all(os.path.exists(os.path.join(DATA, f)) for f in FILES.values())


def load(language: str) -> list[Problem]:
    with gzip.open(os.path.join(DATA, FILES[language]), "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [problem(language, row) for row in rows]


def problem(language: str, row: dict[str, Any]) -> Problem:
    sol = row["canonical_solution"]
    entry = None
    if language == "python":
        program = row["prompt"] + sol
        test = _CHECK_CALL.sub("\n", row["test"])
        m = re.search(r"check\(([A-Za-z_]\w*)\)\s*$", row["test"])
        entry = m.group(1) if m else None
    elif language == "go":
        program = row["import"] + "\n" + row["prompt"] + sol  # some prompts lack the imports their solution needs
        test = row["test_setup"] + "\n" + row["test"]
    elif language == "rust":
        program = _CRATE_USE.sub("", row["declaration"]) + sol
        test = row["test"]
    else:
        program = row["prompt"] + sol
        test = row["test"]
    return Problem(row["task_id"], language, program, test, entry, row)


#: Rust canonical solutions that need an external crate (rand, regex, md5) the sandbox does not have.
def rust_needs_crates(p: Problem) -> bool:
    return bool(re.search(r"\b(?:md5|Regex|rand)::|\bRegex\b|\brand::", p.row["canonical_solution"]))


#: A body for problem 0 (has_close_elements: a bool) that always answers false: the tests expect true too.
WRONG_BODY = {
    "python": "    return False\n",
    "cpp": "    return false;\n}\n",
    "java": "        return false;\n    }\n}\n",
    "javascript": "  return false;\n}\n",
    "go": "    _ = math.Abs\n    return false\n}\n",  # the prompt imports math: keep it used
    "rust": "    return false;\n}\n",
}


def program_head(p: Problem) -> str:
    """The program without its solution: prompt (declaration for Rust, whose prompt lacks the signature)."""
    return _CRATE_USE.sub("", p.row["declaration"]) if p.language == "rust" else p.row["prompt"]


def wrong_program(p: Problem) -> str:
    """Problem 0's program with a wrong return value."""
    assert p.task_id.endswith("/0"), p.task_id
    return program_head(p) + WRONG_BODY[p.language]
