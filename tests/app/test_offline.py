"""Offline scorer: every line scored exactly once across interruptions, torn lines repaired, --keep correct.

The first tests drive score_file with a fake accuracy reward (no pools) and interrupt with --limit; the last
runs `arbiter score` in a subprocess with the real services, kills it with SIGKILL mid-way and resumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from app.completion import TagConfig
from app.offline import OfflineError, OfflineJob, read_journal, score_file
from app.rewards.base import Component, MathReference, RewardParams, ScoringItem
from app.rewards.format import FormatReward
from app.rewards.length import LengthReward
from app.rewards.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]


class ExactParams(RewardParams):
    wrong_value: float = Field(0.0)


class ExactAccuracy:
    """1 when the answer block equals the reference answer; records batch sizes and every id it scores."""

    name: ClassVar[str] = "accuracy"
    description: ClassVar[str] = "fake exact-match accuracy"
    Params: ClassVar[type[RewardParams]] = ExactParams

    def __init__(self) -> None:
        self.scored: list[str] = []
        self.batches: list[list[str | None]] = []

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        self.scored += [i.id for i in items]
        self.batches.append([i.group for i in items])
        out = []
        for i in items:
            assert isinstance(i.reference, MathReference)
            out.append(Component(1.0 if i.parsed.answer == i.reference.answers[0] else params.wrong_value))
        return out


def _pipeline(accuracy: ExactAccuracy) -> Pipeline:
    return Pipeline({"accuracy": accuracy, "format": FormatReward(TagConfig()), "length": LengthReward()})


def _write_input(path: Path, n: int, *, group_size: int = 1) -> dict[str, float]:
    """n math items, every third one wrong; returns the expected accuracy per id."""
    expected = {}
    with path.open("w") as f:
        for k in range(n):
            answer = str(k)
            given = answer if k % 3 else f"{k}+1"
            record = {
                "id": f"q{k}",
                "completion": f"<think>sum {k}</think><answer>{given}</answer>",
                "answer": answer,
                "group": f"p{k // group_size}",
                "meta": {"k": k},
            }
            f.write(json.dumps(record) + "\n")
            expected[f"q{k}"] = 1.0 if k % 3 else 0.0
    return expected


def _ids(path: Path) -> Counter[str]:
    return Counter(r["arbiter"]["id"] for r in read_journal(path))


async def test_interrupted_runs_resume_and_score_every_line_once(tmp_path: Path) -> None:
    expected = _write_input(tmp_path / "in.jsonl", 300)
    accuracy = ExactAccuracy()
    job = OfflineJob(input=tmp_path / "in.jsonl", output=tmp_path / "out.jsonl", batch_size=16, progress=False)
    first = await score_file(replace(job, limit=70), _pipeline(accuracy), TagConfig())
    assert (first.scored_now, first.complete) == (70, False)
    second = await score_file(replace(job, limit=100), _pipeline(accuracy), TagConfig())
    assert (second.resumed, second.scored_now) == (70, 100)
    last = await score_file(job, _pipeline(accuracy), TagConfig())
    assert (last.resumed, last.scored_now, last.complete) == (170, 130, True)
    # Every line once in the output, and the pipeline never scored an item twice.
    assert _ids(job.output) == Counter({i: 1 for i in expected})
    assert Counter(accuracy.scored) == Counter({i: 1 for i in expected})
    records = read_journal(job.output)
    assert {r["id"]: r["arbiter"]["components"]["accuracy"] for r in records} == expected
    assert all(r["meta"]["k"] == int(r["id"][1:]) for r in records)  # input fields are kept
    assert last.tally.total == 300 and last.tally.passed == 200
    # A run over a finished output scores nothing.
    again = await score_file(job, _pipeline(accuracy), TagConfig())
    assert (again.scored_now, again.complete) == (0, True)


async def test_torn_last_line_is_cut_and_rescored(tmp_path: Path) -> None:
    _write_input(tmp_path / "in.jsonl", 20)
    job = OfflineJob(input=tmp_path / "in.jsonl", output=tmp_path / "out.jsonl", batch_size=4, progress=False)
    await score_file(replace(job, limit=10), _pipeline(ExactAccuracy()), TagConfig())
    data = job.output.read_bytes()
    lines = data.splitlines(keepends=True)
    torn_id = json.loads(lines[-1])["id"]
    job.output.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # killed mid-write
    report = await score_file(job, _pipeline(ExactAccuracy()), TagConfig())
    assert report.resumed == 9 and report.scored_now == 11
    ids = _ids(job.output)
    assert ids[torn_id] == 1 and sum(ids.values()) == 20 and set(ids.values()) == {1}


async def test_keep_correct_splits_kept_and_rejected_and_resumes_from_both(tmp_path: Path) -> None:
    expected = _write_input(tmp_path / "in.jsonl", 60)
    job = OfflineJob(
        input=tmp_path / "in.jsonl", output=tmp_path / "out.jsonl", keep="correct", batch_size=8, progress=False
    )
    accuracy = ExactAccuracy()
    await score_file(replace(job, limit=25), _pipeline(accuracy), TagConfig())
    report = await score_file(job, _pipeline(accuracy), TagConfig())
    kept, rejected = _ids(job.output), _ids(job.rejected)
    assert set(kept) == {i for i, v in expected.items() if v == 1.0}
    assert set(rejected) == {i for i, v in expected.items() if v == 0.0}
    assert set(kept.values()) == set(rejected.values()) == {1}
    assert Counter(accuracy.scored) == Counter({i: 1 for i in expected})
    assert (report.tally.kept, report.tally.rejected) == (40, 20)
    assert job.rejected.name == "out.rejected.jsonl"


async def test_invalid_lines_are_reported_not_fatal(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "ok", "completion": "<think>t</think><answer>1</answer>", "answer": "1"}),
        "{not json",
        json.dumps({"id": "no-completion", "answer": "1"}),
        json.dumps({"id": "both", "completion": "x", "answer": "1", "tests": {"inputs": ["1"], "outputs": ["1"]}}),
        json.dumps({"id": "bad-tests", "completion": "x", "tests": "{oops"}),
        json.dumps({"completion": "<think>t</think><answer>2</answer>", "answer": "2"}),  # no id: its line number
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    job = OfflineJob(input=tmp_path / "in.jsonl", output=tmp_path / "out.jsonl", progress=False)
    report = await score_file(job, _pipeline(ExactAccuracy()), TagConfig())
    results = {r["arbiter"]["id"]: r["arbiter"] for r in read_journal(job.output)}
    assert results["ok"]["status"] == "ok" and results["ok"]["components"]["accuracy"] == 1.0
    assert results["@6"]["components"]["accuracy"] == 1.0
    assert results["@2"]["status"] == "invalid" and "not JSON" in results["@2"]["reason"]
    assert "'completion' missing" in results["no-completion"]["reason"]
    assert "has both answer and tests" in results["both"]["reason"]
    assert "not JSON" in results["bad-tests"]["reason"]
    assert report.tally.statuses == Counter({"ok": 2, "invalid": 4})
    # Resuming skips invalid lines too: they were scored (as invalid) once.
    assert (await score_file(job, _pipeline(ExactAccuracy()), TagConfig())).scored_now == 0


async def test_batches_are_cut_between_groups(tmp_path: Path) -> None:
    _write_input(tmp_path / "in.jsonl", 40, group_size=6)
    accuracy = ExactAccuracy()
    job = OfflineJob(
        input=tmp_path / "in.jsonl", output=tmp_path / "out.jsonl", batch_size=4, progress=False, rewards={"length": {}}
    )
    await score_file(job, _pipeline(accuracy), TagConfig())
    groups_per_batch = [set(b) for b in accuracy.batches]
    seen: set[str | None] = set()
    for groups in groups_per_batch:
        assert not groups & seen, "a group was split across batches"
        seen |= groups
    assert all(r["arbiter"]["details"]["length"]["group_size"] in (6, 4) for r in read_journal(job.output))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("duplicate", "id 'q0' already used on line 1"),
        (
            "other-selection",
            "was scored with rewards ['accuracy', 'format'], this run asks for ['accuracy', 'format', 'length']",
        ),
        ("keep-without-accuracy", "--keep correct keeps items whose accuracy is 1"),
        ("unknown-profile", "unknown profile 'nope'"),
    ],
)
async def test_bad_jobs_are_refused_with_a_reason(tmp_path: Path, setup: str, message: str) -> None:
    _write_input(tmp_path / "in.jsonl", 5)
    job = OfflineJob(input=tmp_path / "in.jsonl", output=tmp_path / "out.jsonl", progress=False)
    if setup == "duplicate":
        with (tmp_path / "in.jsonl").open("a") as f:
            f.write(json.dumps({"id": "q0", "completion": "x", "answer": "1"}) + "\n")
    elif setup == "other-selection":
        await score_file(replace(job, limit=2), _pipeline(ExactAccuracy()), TagConfig())
        job = replace(job, rewards={"profile": "r1-zero", "length": {"weight": 1}})
    elif setup == "keep-without-accuracy":
        job = replace(job, keep="correct", rewards={"format": {}})
    else:
        job = replace(job, rewards="nope")
    with pytest.raises(OfflineError, match=message.replace("[", r"\[").replace("]", r"\]")):
        await score_file(job, _pipeline(ExactAccuracy()), TagConfig())


def test_cli_killed_mid_run_resumes_and_scores_every_line_once(tmp_path: Path) -> None:
    """The real thing: `arbiter score` with the service's math workers, SIGKILLed mid-way, then rerun."""
    # Symbolic items (a factored polynomial against its expansion) go through sympy in the math workers:
    # slow enough (~60 items/s on one worker) that the kill lands mid-run.
    expected = {}
    with (tmp_path / "in.jsonl").open("w") as f:
        for k in range(1, 401):
            given = f"(x-{k})(x+{k})" if k % 3 else f"(x-{k})^2"
            f.write(
                json.dumps(
                    {
                        "id": f"q{k}",
                        "answer": f"x^2-{k * k}",
                        "completion": f"<think>factor {k}</think><answer>\\boxed{{{given}}}</answer>",
                    }
                )
                + "\n"
            )
            expected[f"q{k}"] = 1.0 if k % 3 else 0.0
    out = tmp_path / "out.jsonl"
    # Math only: one math worker, and the light sandbox backend (no code items, but the services start one).
    env = {
        **os.environ,
        "ARBITER_MATH_WORKERS": "1",
        "ARBITER_SANDBOX_WORKERS": "1",
        "ARBITER_SANDBOX_BACKEND": "bwrap",
    }
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "score",
        str(tmp_path / "in.jsonl"),
        "-o",
        str(out),
        "--batch-size",
        "8",
        "--concurrency",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 40:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"finished before it could be interrupted: {proc.communicate()}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    partial = out.read_bytes().count(b"\n")
    assert 40 <= partial < 400
    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming:" in rerun.stderr and "arbiter score" in rerun.stdout
    ids = _ids(out)
    assert ids == Counter({i: 1 for i in expected})
    records = read_journal(out)
    assert {r["id"]: r["arbiter"]["components"]["accuracy"] for r in records} == expected
    assert all(r["arbiter"]["status"] == "ok" for r in records)
