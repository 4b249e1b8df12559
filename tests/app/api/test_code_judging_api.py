"""Code judging through the real ASGI app and the bwrap sandbox: every dataset format from rows written the way the
loaders yield them, checkers, scoring modes (pass_fraction, all_or_nothing, weighted, IOI subtasks) and a broken
reference reported as the item's error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from code_format_rows import ROWS
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

pytestmark = pytest.mark.bwrap

CODE = "<think>t</think>\n<answer>\n```{lang}\n{src}\n```\n</answer>"


@pytest.fixture(scope="module", params=["bwrap", "docker"])
def client(request) -> Iterator[TestClient]:
    """The app on each backend (docker: ARBITER_SANDBOX_IMAGE, as the sandbox suites); a backend that cannot start
    skips locally and fails in CI, like tests/sandbox."""
    sandbox = SandboxSettings(backend=request.param, workers=2, instance=f"pytest-api-{os.getpid()}")
    if request.param == "docker" and os.environ.get("ARBITER_SANDBOX_IMAGE"):
        sandbox = sandbox.model_copy(update={"image": os.environ["ARBITER_SANDBOX_IMAGE"]})
    with TestClient(create_app(Settings(math=MathSettings(workers=1), sandbox=sandbox))) as c:
        if c.get("/readyz").status_code != 200:
            if os.environ.get("CI"):
                pytest.fail(f"sandbox backend {request.param} unavailable in CI")
            pytest.skip(f"sandbox backend {request.param} unavailable")
        yield c


def item(id_: str, src: str, tests: Any, lang: str = "python", **reference: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "completion": CODE.format(lang=lang, src=src),
        "reference": {"language": lang, "tests": tests, **reference},
    }


def score(client: TestClient, items: list[dict[str, Any]], accuracy: dict[str, Any] | None = None) -> list[dict]:
    r = client.post("/v1/score", json={"items": items, "rewards": {"accuracy": accuracy or {}}})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_every_dataset_format_right_and_wrong(client):
    items = []
    for name, (row, right, wrong, _, _) in sorted(ROWS.items()):
        items += [item(f"{name}/right", right, row), item(f"{name}/wrong", wrong, row)]
    results = {r["id"]: r for r in score(client, items)}
    for name in ROWS:
        right, wrong = results[f"{name}/right"], results[f"{name}/wrong"]
        assert right["status"] == "ok" and right["components"]["accuracy"] == 1.0, (name, right)
        assert wrong["status"] == "ok" and wrong["components"]["accuracy"] < 1.0, (name, wrong)


def test_a_shape_that_cannot_be_judged_is_a_422_naming_the_field(client):
    body = {"items": [item("x", "print(1)", {"input_output": "{oops"})]}
    r = client.post("/v1/score", json=body)
    assert r.status_code == 422 and "input_output" in r.text
    body = {
        "items": [
            item("x", "print(1)", [{"input": "1", "output": "1"}], interactor={"language": "java", "source": "x"})
        ]
    }
    r = client.post("/v1/score", json=body)
    assert r.status_code == 422 and "interactor" in r.text


def test_interactive_item(client):
    interactor = {
        "language": "python",
        "source": "import sys\nn = int(open(sys.argv[1]).read())\nprint(n, flush=True)\n"
        "sys.exit(0 if int(sys.stdin.readline()) == 2 * n else 1)\n",
    }
    tests = [{"input": "21", "output": ""}, {"input": "5", "output": ""}]
    [right, wrong] = score(
        client,
        [
            item("r", "print(2 * int(input()), flush=True)", tests, interactor=interactor),
            item("w", "print(int(input()) + 21, flush=True)", tests, interactor=interactor),
        ],
    )
    assert right["components"]["accuracy"] == 1.0, right
    assert wrong["details"]["accuracy"]["verdicts"] == ["AC", "WA"], wrong


def test_builtin_and_program_checkers(client):
    tests = {"inputs": ["1\n", "2\n"], "outputs": ["0.3333333\n", "YES\n"]}
    src = "n = int(input())\nprint('%.4f' % (1 / 3) if n == 1 else 'yes')"
    [default, floats] = score(
        client,
        [item("d", src, tests), item("f", src, tests, checker={"type": "float", "abs": 1e-3, "rel": 0})],
    )
    assert default["components"]["accuracy"] == 0.0  # 0.3333 is off by more than 1e-6, "yes" is not "YES"
    assert floats["details"]["accuracy"]["verdicts"] == ["AC", "WA"]
    [ci] = score(
        client,
        [item("c", "print('yes')", {"inputs": ["2\n"], "outputs": ["YES"]}, checker={"type": "case_insensitive"})],
    )
    assert ci["components"]["accuracy"] == 1.0
    checker = {
        "type": "program",
        "language": "python",
        "source": "import sys\nsys.exit(0 if int(open(sys.argv[2]).read()) % 2 == 0 else 1)\n",
    }
    [ok, bad] = score(
        client,
        [
            item("p", "print(4)", [{"input": "", "output": "2"}], checker=checker),
            item("q", "print(3)", [{"input": "", "output": "2"}], checker=checker),
        ],
    )
    assert (ok["components"]["accuracy"], bad["components"]["accuracy"]) == (1.0, 0.0)


def test_scoring_modes(client):
    tests = {"inputs": ["1\n", "2\n", "3\n", "4\n"], "outputs": ["1\n", "4\n", "9\n", "16\n"]}
    half = "n = int(input())\nprint(n * n if n <= 2 else 0)"
    full = "n = int(input())\nprint(n * n)"
    [pf] = score(client, [item("a", half, tests)], {"mode": "pass_fraction"})
    [aon] = score(client, [item("a", half, tests)], {"mode": "all_or_nothing"})
    [w_half, w_full] = score(client, [item("a", half, tests), item("b", full, tests)], {"mode": "weighted"})
    assert pf["components"]["accuracy"] == 0.5 and aon["components"]["accuracy"] == 0.0
    assert w_half["components"]["accuracy"] == pytest.approx(0.05) and w_full["components"][
        "accuracy"
    ] == pytest.approx(1.1)


def test_ioi_subtasks_points_and_early_stop(client):
    tests = {"inputs": ["1\n", "2\n", "3\n", "4\n", "5\n"], "outputs": ["1\n", "4\n", "9\n", "16\n", "25\n"]}
    subtasks = [{"points": 30, "tests": [0, 1]}, {"points": 70, "tests": [2, 3, 4]}]
    src = "n = int(input())\nassert n != 3\nprint(n * n)"  # crashes on test 2
    [r] = score(client, [item("s", src, tests, subtasks=subtasks)])
    acc = r["details"]["accuracy"]
    assert r["components"]["accuracy"] == pytest.approx(0.3) and acc["points"] == 30 and acc["max_points"] == 100
    assert acc["subtasks"][0]["verdicts"] == ["AC", "AC"]
    assert acc["subtasks"][1]["verdicts"] == ["RE", "SKIP", "SKIP"]  # stopped inside the failed subtask


def test_a_broken_reference_is_the_items_error_never_a_wrong_answer(client):
    [r] = score(
        client,
        [item("b", "def f(x):\n    return x", {"test_code": "def check(candidate:\n  pass", "entry_point": "f"})],
    )
    assert r["status"] == "error" and "does not compile" in r["details"]["accuracy"]["reason"], r
