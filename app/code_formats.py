"""Dataset test formats accepted as the rows store them, and the per-item judging options of code references.

`reference.tests` may be the row's own test fields (docs/code.md has a request example per format), recognised by
their keys or named by `"format"`:

| format | keys | becomes |
|---|---|---|
| apps / taco | `input_output` (JSON string: inputs, outputs, optional fn_name) | stdio, or call with fn_name |
| code_contests | `public_tests` / `private_tests` / `generated_tests` ({input: [...], output: [...]}) | stdio |
| livecodebench | `public_test_cases` / `private_test_cases` (JSON, or LCB's compressed string), `metadata` | stdio, or call (`functional`: one JSON argument per line, metadata.func_name) |
| mbpp | `test_list` (+ `test_setup_code`, `challenge_test_list`) | one assert test per entry |
| kodcode | `test` (pytest file importing `solution`) + `test_info` | one assert test |
| humaneval / bigcodebench | `test` (check(candidate) / unittest.TestCase) + `entry_point` | one assert test |
| codeforces (open-r1) | `official_tests` (+ `generated_tests`), `generated_checker` | stdio, with the checker program |
| sandbox_fusion (verl) | `inputs` / `outputs` (+ `fn_name`), `assert_case` | stdio / call, or asserts |

A shape that cannot be judged raises ValueError naming the field: the request's 422.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DatasetFormat = Literal[
    "apps",
    "taco",
    "code_contests",
    "livecodebench",
    "mbpp",
    "kodcode",
    "humaneval",
    "bigcodebench",
    "codeforces",
    "sandbox_fusion",
]


class BuiltinChecker(BaseModel):
    """How an output is compared with its expected answer (stdin/stdout tests)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)  # as app/references.py
    type: Literal["exact", "whitespace", "tokens", "float", "lines_unordered", "case_insensitive"] = "whitespace"
    abs: float = Field(1e-6, ge=0, description="float: absolute tolerance per token.")
    rel: float = Field(1e-6, ge=0, description="float: relative tolerance per token (of the expected value).")


class ProgramChecker(BaseModel):
    """A checker program in the testlib convention: `checker input output answer`; exit 0 AC, 1 WA, 2 PE; a score
    in [0, 1] as the first token of stdout for partial credit. Runs in the sandbox, never in the program's process."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)  # as app/references.py
    type: Literal["program"]
    language: Literal["python", "cpp"]
    source: str = Field(min_length=1, max_length=1 << 20)


class Interactor(BaseModel):
    """An interactor program connected to the program's stdin/stdout (interactive problems)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)  # as app/references.py
    language: Literal["python", "cpp"]
    source: str = Field(min_length=1, max_length=1 << 20)


class Subtask(BaseModel):
    """IOI-style subtask: its points count when every one of its tests passes (test indices, 0-based)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)  # as app/references.py
    points: float = Field(gt=0)
    tests: list[int] = Field(min_length=1)


@dataclass(frozen=True)
class Normalized:
    """Tests in one of the sandbox's kinds."""

    kind: Literal["stdio", "call", "assert"]
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    fn_name: str | None = None
    entry_point: str | None = None
    wrapped_returns: bool = False  # APPS/TACO wrap a call's expected return in a one-element list
    checker: ProgramChecker | None = None  # a checker the row carries (open-r1 codeforces)

    @property
    def count(self) -> int:
        return len(self.inputs)

    @property
    def nbytes(self) -> int:
        return sum(len(json.dumps(x, ensure_ascii=False)) for x in (*self.inputs, *self.outputs))


class DatasetTests(BaseModel):
    """A dataset row's own test fields (see the module docstring); validated by normalizing them."""

    model_config = ConfigDict(extra="allow")
    format: DatasetFormat | None = Field(None, description="The row's dataset; recognised by its keys when absent.")

    @model_validator(mode="after")
    def _judgeable(self) -> DatasetTests:
        self.normalized()  # raises ValueError naming the field: the request's 422
        return self

    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def normalized(self) -> Normalized:
        return normalize(self.fields(), self.format)


# ---------------------------------------------------------------------------------------------- recognition
def detect(row: dict[str, Any]) -> DatasetFormat:
    if "input_output" in row:
        return "apps"
    if {"public_tests", "private_tests", "generated_tests"} & row.keys():
        return "code_contests"
    if {"public_test_cases", "private_test_cases"} & row.keys():
        return "livecodebench"
    if "test_list" in row:
        return "mbpp"
    if "official_tests" in row:
        return "codeforces"
    if "assert_case" in row or ("inputs" in row and "outputs" in row):
        return "sandbox_fusion"
    if "test" in row and "test_info" in row:
        return "kodcode"
    if "test" in row and "entry_point" in row:
        return "humaneval"
    raise ValueError(
        "tests: unrecognised test fields "
        f"({', '.join(sorted(row)) or 'none'}); give inputs/outputs, test_code/entry_point, or a dataset row's "
        "own test fields with an optional format (see docs/code.md)"
    )


def normalize(row: dict[str, Any], fmt: DatasetFormat | None = None) -> Normalized:
    fmt = fmt or detect(row)
    out = _PARSERS[fmt](row)
    if out.count == 0:
        raise ValueError(f"tests: the {fmt} row holds no tests")
    return out


# ---------------------------------------------------------------------------------------------- parsers
def _json_field(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    if value is None:
        raise ValueError(f"tests.{key}: missing")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"tests.{key}: not valid JSON ({e.msg} at {e.pos})") from None
    return value


def _strs(key: str, values: Any) -> list[str]:
    if not isinstance(values, list):
        raise ValueError(f"tests.{key}: must be a list")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            v = "\n".join(v) + "\n"
        if not isinstance(v, str):
            raise ValueError(f"tests.{key}.{i}: must be a string (or a list of lines)")
        out.append(v)
    return out


def _apps(row: dict[str, Any]) -> Normalized:
    io_ = _json_field(row, "input_output")
    if not isinstance(io_, dict) or not isinstance(io_.get("inputs"), list) or not isinstance(io_.get("outputs"), list):
        raise ValueError("tests.input_output: must hold inputs and outputs lists")
    ins, outs = io_["inputs"], io_["outputs"]
    if len(ins) != len(outs):
        raise ValueError(f"tests.input_output: {len(ins)} inputs but {len(outs)} outputs")
    fn = io_.get("fn_name")
    if fn:
        if not isinstance(fn, str):
            raise ValueError("tests.input_output.fn_name: must be a string")
        args = [x if isinstance(x, list) else [x] for x in ins]
        return Normalized("call", args, list(outs), fn_name=fn, wrapped_returns=True)
    return Normalized("stdio", _strs("input_output.inputs", ins), _strs("input_output.outputs", outs))


def _code_contests(row: dict[str, Any]) -> Normalized:
    ins: list[str] = []
    outs: list[str] = []
    for key in ("public_tests", "private_tests", "generated_tests"):
        part = row.get(key)
        if part is None:
            continue
        if not isinstance(part, dict) or not isinstance(part.get("input"), list):
            raise ValueError(f"tests.{key}: must be {{'input': [...], 'output': [...]}}")
        i, o = _strs(f"{key}.input", part["input"]), _strs(f"{key}.output", part.get("output"))
        if len(i) != len(o):
            raise ValueError(f"tests.{key}: {len(i)} inputs but {len(o)} outputs")
        ins += i
        outs += o
    return Normalized("stdio", ins, outs)


class _NoGlobals(pickle.Unpickler):
    """LiveCodeBench's private tests are a pickled JSON string: load plain data only, never a class or function."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def _lcb_cases(row: dict[str, Any], key: str) -> list[Any]:
    value = row.get(key)
    if value in (None, "", []):
        return []
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise ValueError(f"tests.{key}: must be a JSON string or a list")
    try:
        return list(json.loads(value))
    except json.JSONDecodeError:
        pass
    try:  # the dataset's compressed form: base64(zlib(pickle(json string)))
        text = _NoGlobals(io.BytesIO(zlib.decompress(base64.b64decode(value)))).load()
        return list(json.loads(text))
    except (ValueError, TypeError, zlib.error, pickle.UnpicklingError, EOFError) as e:
        raise ValueError(f"tests.{key}: neither JSON nor LiveCodeBench's compressed form ({e})") from None


def _livecodebench(row: dict[str, Any]) -> Normalized:
    cases = _lcb_cases(row, "public_test_cases") + _lcb_cases(row, "private_test_cases")
    types = {c.get("testtype") for c in cases if isinstance(c, dict)}
    if len(types) != 1 or not all(isinstance(c, dict) and "input" in c and "output" in c for c in cases):
        raise ValueError(
            "tests.public_test_cases: every case needs input, output and one testtype (stdin or functional)"
        )
    if types == {"functional"}:
        meta = _json_field(row, "metadata") if row.get("metadata") else {}
        fn = meta.get("func_name") if isinstance(meta, dict) else None
        if not isinstance(fn, str) or not fn:
            raise ValueError("tests.metadata.func_name: functional tests need the function's name")
        try:
            args = [[json.loads(line) for line in c["input"].split("\n") if line.strip()] for c in cases]
            outs = [json.loads(c["output"]) for c in cases]
        except (json.JSONDecodeError, AttributeError):
            raise ValueError("tests.public_test_cases: a functional input is one JSON argument per line") from None
        return Normalized("call", args, outs, fn_name=fn)
    if types != {"stdin"}:
        raise ValueError(f"tests.public_test_cases: testtype must be stdin or functional, not {types.pop()!r}")
    return Normalized("stdio", _strs("public_test_cases", [c["input"] for c in cases]), [c["output"] for c in cases])


_CALLED = re.compile(r"assert\s+(?:not\s+)?\(?\s*(?:[\w.]+\()*?([A-Za-z_]\w*)\s*\(")


def _mbpp(row: dict[str, Any]) -> Normalized:
    asserts = list(row.get("test_list") or []) + list(row.get("challenge_test_list") or [])
    if not asserts or not all(isinstance(a, str) for a in asserts):
        raise ValueError("tests.test_list: must be a non-empty list of assert statements")
    setup = row.get("test_setup_code") or ""
    if not isinstance(setup, str):
        raise ValueError("tests.test_setup_code: must be a string")
    m = _CALLED.search(asserts[0])
    entry = m.group(1) if m else "solution"
    return Normalized("assert", [(setup + "\n" + a).strip() + "\n" for a in asserts], entry_point=entry)


def _single_test(row: dict[str, Any], entry: str | None) -> Normalized:
    test = row.get("test")
    if not isinstance(test, str) or not test.strip():
        raise ValueError("tests.test: must be the test code")
    return Normalized("assert", [test], entry_point=entry or "solution")


def _kodcode(row: dict[str, Any]) -> Normalized:
    info = row.get("test_info")
    names = [t.get("function_name") for t in info if isinstance(t, dict)] if isinstance(info, list) else []
    return _single_test(row, next((n for n in names if isinstance(n, str) and n), None))


def _humaneval(row: dict[str, Any]) -> Normalized:
    entry = row.get("entry_point")
    if not isinstance(entry, str) or not entry:
        raise ValueError("tests.entry_point: must name the function under test")
    return _single_test(row, entry)


def _checker_language(source: str) -> Literal["python", "cpp"]:
    return "cpp" if "#include" in source else "python"


def _codeforces(row: dict[str, Any]) -> Normalized:
    ins: list[str] = []
    outs: list[str] = []
    for key in ("official_tests", "generated_tests"):
        cases = row.get(key) or []
        if not isinstance(cases, list) or not all(isinstance(c, dict) and "input" in c for c in cases):
            raise ValueError(f"tests.{key}: must be a list of {{'input': ..., 'output': ...}}")
        ins += _strs(f"{key}.input", [c["input"] for c in cases])
        outs += _strs(f"{key}.output", [c.get("output") for c in cases])
    if row.get("input_mode", "stdio") not in ("stdio", None):
        raise ValueError("tests.input_mode: only stdio problems can be judged (file input/output is not supported)")
    source = row.get("generated_checker")
    checker = None
    if source:
        if not isinstance(source, str):
            raise ValueError("tests.generated_checker: must be the checker's source")
        checker = ProgramChecker(type="program", language=_checker_language(source), source=source)
    return Normalized("stdio", ins, outs, checker=checker)


def _sandbox_fusion(row: dict[str, Any]) -> Normalized:
    asserts = row.get("assert_case")
    if asserts:
        if not isinstance(asserts, list) or not all(isinstance(a, str) for a in asserts):
            raise ValueError("tests.assert_case: must be a list of assert statements")
        m = _CALLED.search(asserts[0])
        return Normalized("assert", list(asserts), entry_point=m.group(1) if m else "solution")
    ins, outs = row.get("inputs"), row.get("outputs")
    if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
        raise ValueError("tests.inputs: inputs and outputs must be lists of the same length")
    fn = row.get("fn_name")
    if fn:
        return Normalized("call", [x if isinstance(x, list) else [x] for x in ins], outs, fn_name=str(fn))
    return Normalized("stdio", _strs("inputs", ins), _strs("outputs", outs))


_PARSERS = {
    "apps": _apps,
    "taco": _apps,
    "code_contests": _code_contests,
    "livecodebench": _livecodebench,
    "mbpp": _mbpp,
    "kodcode": _kodcode,
    "humaneval": _humaneval,
    "bigcodebench": _humaneval,
    "codeforces": _codeforces,
    "sandbox_fusion": _sandbox_fusion,
}
