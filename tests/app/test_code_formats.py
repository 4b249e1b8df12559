"""Dataset test formats: recognised by their keys (or named), normalized into the sandbox's kinds, and every shape
that cannot be judged is a ValueError naming the field (the request's 422)."""

from __future__ import annotations

import json

import pytest
from code_format_rows import ROWS
from pydantic import ValidationError

from app.api.schemas import Reference
from app.code_formats import DatasetTests, detect, normalize


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_format_normalizes(name):
    row, _, _, kind, count = ROWS[name]
    norm = normalize(row)
    assert (norm.kind, norm.count) == (kind, count)
    assert isinstance(Reference(tests=row).tests, DatasetTests)


def test_recognised_by_keys_and_named_by_format():
    assert detect(ROWS["apps"][0]) == "apps"
    assert detect(ROWS["humaneval"][0]) == "humaneval"
    assert detect(ROWS["kodcode"][0]) == "kodcode"
    named = normalize(ROWS["bigcodebench"][0], "bigcodebench")
    assert named.kind == "assert" and named.entry_point == "task_func"
    assert Reference(tests={"format": "taco", **ROWS["taco_fn_name"][0]}).tests.normalized().fn_name == "add"


def test_details_of_the_mappings():
    lcb = normalize(ROWS["livecodebench_functional"][0])
    assert lcb.fn_name == "scaledSum" and lcb.inputs == [[[1, 2, 3], 2], [[], 5]] and lcb.outputs == [12, 0]
    assert normalize(ROWS["taco_fn_name"][0]).wrapped_returns
    cf = normalize(ROWS["codeforces"][0])
    assert cf.checker is not None and cf.checker.language == "python"
    mbpp = normalize({"test_list": ["assert f(1) == 2"], "test_setup_code": "import math"})
    assert mbpp.entry_point == "f" and mbpp.inputs == ["import math\nassert f(1) == 2\n"]


@pytest.mark.parametrize(
    ("tests", "field"),
    [
        ({"input_output": "{not json"}, "tests.input_output"),
        ({"input_output": json.dumps({"inputs": ["1"], "outputs": []})}, "tests.input_output"),
        ({"public_tests": {"input": ["1"], "output": ["1", "2"]}}, "tests.public_tests"),
        ({"public_test_cases": "[]", "private_test_cases": "%%%"}, "tests.private_test_cases"),
        (
            {"public_test_cases": json.dumps([{"input": "1", "output": "1", "testtype": "functional"}])},
            "tests.metadata.func_name",
        ),
        ({"test_list": []}, "tests.test_list"),
        ({"test": "def check(c): pass", "entry_point": ""}, "tests.entry_point"),
        ({"official_tests": [{"input": "1", "output": "1"}], "input_mode": "file"}, "tests.input_mode"),
        ({"assert_case": [1, 2]}, "tests.assert_case"),
        ({"cases": [1]}, "unrecognised test fields"),
    ],
)
def test_a_shape_that_cannot_be_judged_names_the_field(tests, field):
    with pytest.raises(ValidationError) as e:
        Reference(tests=tests)
    assert field in str(e.value)


def test_pickled_objects_in_livecodebench_rows_are_refused():
    import base64
    import pickle
    import zlib

    evil = base64.b64encode(zlib.compress(pickle.dumps(ValueError("x")))).decode()
    with pytest.raises(ValidationError, match="not plain data"):
        Reference(tests={"public_test_cases": "[]", "private_test_cases": evil})


def test_many_tests_are_bounded_by_bytes_not_only_by_count():
    from app.config import SandboxSettings
    from app.rewards.base import CodeReference
    from app.rewards.code_accuracy import CodeAccuracy, TestsFormatError

    rows = {"public_tests": {"input": ["x" * 100] * 600, "output": ["y"] * 600}}
    ref = CodeReference(language="python", tests=Reference(tests=rows).tests)
    request = CodeAccuracy(None, SandboxSettings()).build_request("print(1)", ref, "tolerant")  # type: ignore[arg-type]
    assert len(request.inputs) == 600  # past the old cap of 512
    small = SandboxSettings(max_test_bytes=4096)
    with pytest.raises(TestsFormatError, match="ARBITER_SANDBOX_MAX_TEST_BYTES"):
        CodeAccuracy(None, small).build_request("print(1)", ref, "tolerant")  # type: ignore[arg-type]
    io_ref = CodeReference(language="python", tests=Reference(tests={"inputs": ["x" * 5000], "outputs": ["y"]}).tests)
    with pytest.raises(TestsFormatError, match="bytes of tests"):
        CodeAccuracy(None, small).build_request("print(1)", io_ref, "tolerant")  # type: ignore[arg-type]
