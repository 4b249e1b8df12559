"""verl 0.9.1's own reward loop (naive and dapo managers with the adapter function, and the Arbiter batch manager;
in-process and over Ray actors) scoring a parquet of mixed math and code rows, against a live Arbiter and a dead one.

verl runs in its own venv (.venv-verl, made by `make install`): it pins antlr4-python3-runtime 4.9 (through hydra),
which would break the server's latex2sympy2 (4.7.2), so the two cannot share one. That venv has verl, torch and
`arbiter-client` installed, nothing of the server: the adapter is loaded by verl from the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from adapter_helpers import free_port  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
VERL_PYTHON = ROOT / ".venv-verl" / "bin" / "python"
SCRIPT = Path(__file__).with_name("verl_reward_loop.py")

# (score, format, accuracy, judged) per row of verl_reward_loop.ROWS, against a live Arbiter.
EXPECTED = [
    (2.0, 1.0, 1.0, 1.0),  # gsm8k, right
    (1.0, 1.0, 0.0, 1.0),  # gsm8k, wrong: judged, accuracy 0
    (2.0, 1.0, 1.0, 1.0),  # MATH-500, 0.5 == \frac{1}{2}
    (1.0, 0.0, 1.0, 1.0),  # no tags: format 0, the answer still found
    (2.0, 1.0, 1.0, 1.0),  # codecontests, Python, tests also in extra_info
    (2.0, 1.0, 1.0, 1.0),  # codeforces, extra_info language cpp: judged as C++
    (0.0, 0.0, 0.0, 0.0),  # tests that are not JSON: unjudged, no format reward, no crash
]
KEYS = ["score", "format", "accuracy", "arbiter_judged"]


def run_loop(tmp_path: Path, url: str, manager: str, mode: str, *args: str, **env: str) -> dict[str, Any]:
    if not VERL_PYTHON.exists():
        pytest.fail(f"{VERL_PYTHON} is missing: `make install` (or `make test`) creates the verl venv")
    done = subprocess.run(
        [str(VERL_PYTHON), str(SCRIPT), "--workdir", str(tmp_path), "--manager", manager, "--mode", mode, *args],
        env={**os.environ, "ARBITER_URL": url, **env},
        cwd=tmp_path,  # not the repository: nothing of the server is importable from the working directory
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# naive/dapo: verl's managers awaiting the adapter function per rollout; arbiter: the batch manager
# (arbiter_client.adapters.verl_manager, reward_manager.source=importlib). Each in-process and over Ray actors.
LOOPS = [
    ("naive", "inprocess"),
    ("dapo", "inprocess"),
    ("arbiter", "inprocess"),
    ("naive", "ray"),
    ("dapo", "ray"),
    ("arbiter", "ray"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("manager", "mode"), LOOPS)
def test_reward_loop_scores_mixed_rows(arbiter_url: str, tmp_path: Path, manager: str, mode: str) -> None:
    out = run_loop(tmp_path, arbiter_url, manager, mode)
    assert list(out["extra"]) == KEYS  # the same keys for every row: verl took them from the first
    rows = out["rows"]
    for i, (row, (score, fmt, acc, judged)) in enumerate(zip(rows, EXPECTED, strict=True)):
        # The reward sits at the last valid response token and nowhere else.
        assert row["value"] == score, (i, row)
        assert row["nonzero"] == ([row["last_valid"]] if score else []), (i, row)
        assert [out["extra"][k][i] for k in KEYS] == [score, fmt, acc, judged], i


@pytest.mark.slow
def test_batch_manager_sends_the_worker_batch_in_one_request(arbiter_url: str, tmp_path: Path) -> None:
    """70 rollouts through one in-process reward worker: verl runs run_single once per rollout, and the manager
    sends them all in one request, scored as the rows are (the expected table, ten times over)."""
    out = run_loop(tmp_path, arbiter_url, "arbiter", "inprocess", "--repeat", "10")
    assert out["n"] == 10 * len(EXPECTED)
    assert out["requests"] == 1
    assert out["extra"]["score"] == [row[0] for row in EXPECTED] * 10


@pytest.mark.slow
@pytest.mark.parametrize("manager", ["naive", "arbiter"])
def test_reward_loop_survives_a_server_outage(tmp_path: Path, manager: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    out = run_loop(tmp_path, dead, manager, "inprocess", ARBITER_DEADLINE_S="2")
    assert list(out["extra"]) == KEYS
    assert all(row["value"] == 0.0 and row["nonzero"] == [] for row in out["rows"])
    assert out["extra"]["arbiter_judged"] == [0.0] * len(EXPECTED)
