"""Math accuracy benchmark: items/s, per-item latency and accuracy of Arbiter's math engine, printed beside the
math-verify 0.9.0 baseline measured in the same run on the same items.

    .venv/bin/python bench/math_bench.py [--n 2000] [--workers 2] [--batch 256]      # in-process (our API)
    .venv/bin/python bench/math_bench.py --http [--corpus real] [--runs 3]           # through `arbiter serve`
    .venv/bin/python bench/math_bench.py --http --before dac2239                     # ... and an old commit's
    .venv/bin/python bench/math_bench.py --url http://127.0.0.1:8000 [--n 2000]     # a running service
    ... --no-baseline                                                                # skip math-verify
    .venv/bin/python bench/math_bench.py --slow-items 20 [--before dac2239]          # where a request's worker time goes

--http starts `arbiter serve` on a free port of 127.0.0.1 (cache off, so repeated runs are not served from
memory), sends the items as requests of 512 (2 in flight) for items/s, then requests of 512 one at a time for the
per-request p50/p99, and reads the CPU seconds of the server process and of its math workers from /proc. Runs
alternate between the systems (the old commit's server, this tree's, math-verify); figures are medians of runs.

Items are R1-style completions built from the 5,000 MATH test golds (tests/data/): equivalent variants
(\\frac ↔ 0.5, \\dfrac, a leading `x = `, `\\text{ cm}`, reordered list elements, \\left( \\right) spacing,
`5.0`) that must verify, and non-equivalent ones (a changed number, a flipped interval bracket, a swapped tuple,
a flipped sign) that must not.

The baseline conflicts with latex2sympy2's antlr pin, so it runs in its own venv `.venv-baseline` (created on
first use: math-verify==0.9.0, latex2sympy2_extended[antlr4_13_2]) in a subprocess, one core, in-process calls
`parse("$gold$")`, `parse(answer_block)`, `verify(gold, pred)` per item.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from app.math import MathWorkerPool, extract_answer  # noqa: E402
from app.math.normalize import normalize  # noqa: E402
from app.math.parse import Choice, Interval, Number, Set, Text, Tuple, Union, parse_answer, split_top  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "math_test_gold_answers.jsonl")
BASELINE_VENV = os.path.join(ROOT, ".venv-baseline")
R1 = "<think>\nLet me think about it step by step. First, ...\n</think>\n<answer>\nThe answer is \\boxed{%s}\n</answer>"


# ------------------------------------------------------------------------------------------------ items
def _decimal(n: Number) -> str | None:
    v = n.value
    if v.denominator == 1:
        return None
    d = v.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return None
    s = f"{float(v):.10f}".rstrip("0").rstrip(".")
    return s if len(s) < 14 else None


def variants(gold: str) -> list[tuple[str, bool, str]]:
    """(prediction, should_verify, kind) for one gold."""
    out: list[tuple[str, bool, str]] = [(gold, True, "same")]
    v = parse_answer(normalize(gold))
    if "\\frac" in gold:
        out.append((gold.replace("\\frac", "\\dfrac"), True, "dfrac"))
    elif "\\dfrac" in gold:
        out.append((gold.replace("\\dfrac", "\\frac"), True, "frac"))
    if "=" not in gold and not isinstance(v, (Set, Union, Choice, Text)):
        out.append(("x = " + gold, True, "x ="))
    if isinstance(v, Number) and "\\text" not in gold and "\\mbox" not in gold:
        out.append((gold + "\\text{ cm}", True, "unit"))
        dec = _decimal(v)
        if dec:
            out.append((dec, True, "decimal"))
        if v.value.denominator == 1 and v.decimals is None:
            out.append((gold + ".0", True, "5.0"))
        if v.value != 0:
            out.append(("-(" + gold + ")" if not gold.startswith("-") else gold[1:], False, "sign"))
    if isinstance(v, Set) and len(v.items) > 1 and not gold.startswith("\\{"):
        parts = split_top(normalize(gold), ",")
        if len(parts) > 1:
            out.append((", ".join(reversed(parts)), True, "reorder"))
    n = normalize(gold)
    if isinstance(v, Tuple) and n.startswith("(") and n.endswith(")"):
        out.append(("\\left( " + n[1:-1].replace(",", ",\\, ") + " \\right)", True, "spacing"))
        parts = split_top(n[1:-1], ",")
        if len(set(parts)) > 1:
            out.append(("(" + ", ".join(reversed(parts)) + ")", False, "swap"))
    if isinstance(v, (Interval, Union)) and n[:1] in "([":
        out.append((("[" if n[0] == "(" else "(") + n[1:], False, "bracket"))
    m = re.search(r"\d+", gold)
    if m:
        out.append((gold[: m.start()] + str(int(m.group(0)) + 1) + gold[m.end() :], False, "number"))
    return out


def build_items(n: int, seed: int, hard: bool = False) -> list[dict]:
    rows = [json.loads(line) for line in open(DATA)]
    items = []
    for r in rows:
        golds = r["answers"]
        if hard and isinstance(parse_answer(normalize(golds[0])), Number):
            continue
        for pred, ok, kind in variants(golds[0]):
            if not ok and normalize(pred) in {normalize(g) for g in golds}:
                continue
            items.append({"gold": golds, "completion": R1 % pred, "expected": ok, "kind": kind})
    random.Random(seed).shuffle(items)
    items = items[:n]
    for i, it in enumerate(items):
        it["id"] = str(i)
    return items


# ------------------------------------------------------------------------------------------ real formats
def real_format_items(n: int, seed: int) -> list[dict]:
    """Answers as models and datasets write them (issue 12): each category gives a right and a wrong case
    built from random numbers, so half the corpus is wrong. (kind, gold, answer block, expected)."""
    rng = random.Random(seed)
    cases: list[tuple[str, str, str, bool]] = []

    def add(kind: str, gold: str, right: str, wrong: str) -> None:
        cases.append((kind, gold, right, True))
        cases.append((kind, gold, wrong, False))

    while len(cases) < n:
        a, b, c = rng.randint(2, 60), rng.randint(2, 60), rng.randint(61, 99)
        q = b + a  # a proper fraction a/q
        add("bare_latex", f"\\frac{{{a}}}{{{q}}}", f"\\frac{{{a}}}{{{q}}}", f"\\frac{{{q}}}{{{a}}}")
        add("bare_fraction_vs_int", str(q), f"{q}", f"\\frac{{1}}{{{q}}}")
        add("bare_expression", str(a), f"{a - 1}+1", f"x+{a}")
        add("bare_sqrt", str(a), f"\\sqrt{{{a * a}}}", f"\\sqrt{{{a}}}")
        add("answer_marker", str(c), f"Let me compute.\nAnswer: {c}", f"Let me compute.\nAnswer: 2x + {c}")
        add(
            "gsm8k",
            str(a * c),
            f"She pays ${a} for each of {c} items.\n#### {a * c}",
            f"She pays ${a} each.\n#### {a * c + 1}",
        )
        add(
            "final_answer_sentence",
            f"\\frac{{{a}}}{{{q}}}",
            f"The final answer is $\\frac{{{a}}}{{{q}}}$. I hope it is correct.",
            f"The final answer is $\\frac{{{a + 1}}}{{{q}}}$. I hope it is correct.",
        )
        add(
            "final_answer_box",
            str(c),
            f"**Final Answer**\n\\[\n\\boxed{{{c}}}\n\\]",
            f"**Final Answer**\n\\[\\boxed{{{c + 2}}}\\]",
        )
        add(
            "truncated_after_box",
            str(b),
            f"so \\boxed{{{b}}}. Let me double check the arith",
            f"so \\boxed{{{b + 1}}}. Let me double check",
        )
        add(
            "currency_prose",
            str(a * 1000 + c),
            f"It costs ${a},{c:03d} in all, so the answer is {a * 1000 + c}.",
            f"It costs ${a},{c:03d} in all, so the answer is {a * 1000 + c + 1}.",
        )
        add("mixed_number", f"\\frac{{{a * 2 + 1}}}{{2}}", f"\\boxed{{{a}\\frac12}}", f"\\boxed{{{2 * a + 1}\\frac12}}")
        add("mixed_vs_product", str(a), f"\\boxed{{{a}}}", f"\\boxed{{{2 * a}\\frac12}}")
        add(
            "scientific",
            f"\\frac{{1}}{{{c * 8}}}",
            f"\\boxed{{{1 / (c * 8) * 10**3:.9f} \\times 10^{{-3}}}}",
            f"\\boxed{{{1 / (c * 8 + 1) * 10**3:.9f} \\times 10^{{-3}}}}",
        )
        add(
            "solution_gold",
            f"Adding, we get $x={a}+{b}$, so \\boxed{{{a + b}}}.",
            f"\\boxed{{{a + b}}}",
            f"\\boxed{{{a + b + 1}}}",
        )
        add("assignment_tuple", f"(p,q)=({a},{b})", f"\\boxed{{({a},{b})}}", f"\\boxed{{({a},{b + 1})}}")
        add(
            "assignment_list",
            f"x = -{a},\\ p = \\frac{{{b}}}{{{c}}}",
            f"\\boxed{{-{a}, \\frac{{{b}}}{{{c}}}}}",
            f"\\boxed{{-{a}, \\frac{{{c}}}{{{b}}}}}",
        )
        add("ratio", f"S_{{ABC}}:S={a}:{c}", f"\\boxed{{{a}:{c}}}", f"\\boxed{{{a + 1}:{c}}}")
        add("gold_or_list", f"{a} or -{b}", f"\\boxed{{-{b}, {a}}}", f"\\boxed{{{a}}}")
        add(
            "several_boxes",
            f"{a}, -{b}",
            f"$\\boxed{{-{b}}}$ and $\\boxed{{{a}}}$",
            f"$\\boxed{{-{b}}}$, $\\boxed{{{a}}}$ or $\\boxed{{{c}}}$",
        )
        add(
            "chained_equality",
            str(a + b + 1),
            f"\\boxed{{x = {a}+{b}+1 = {a + b + 1}}}",
            f"\\boxed{{x = {a}+{b} = {a + b + 1}}}",
        )
        add(
            "approx",
            f"\\frac{{{a}}}{{{c}}}",
            f"\\boxed{{\\frac{{{a}}}{{{c}}} \\approx {a / c:.2f}}}",
            f"\\boxed{{\\frac{{{a + 1}}}{{{c}}} \\approx {a / c:.2f}}}",
        )
        add("inequality_flip", f"x<{a}", f"\\boxed{{-x > -{a}}}", f"\\boxed{{-x < -{a}}}")
        add("linear_equation", f"y={a}x+{b}", f"\\boxed{{{2 * a}x-2y+{2 * b}=0}}", f"\\boxed{{{a}x+y+{b}=0}}")
        add(
            "matrix",
            f"\\begin{{pmatrix}}{a}&{b}\\\\{c}&1\\end{{pmatrix}}",
            f"\\boxed{{\\begin{{bmatrix}}{a}&{b}\\\\{c}&1\\end{{bmatrix}}}}",
            f"\\boxed{{\\begin{{bmatrix}}{a}&{b + 1}\\\\{c}&1\\end{{bmatrix}}}}",
        )
        add("thousands_bang", str(a * 1000000 + c), f"\\boxed{{{a},\\!000,\\!0{c}}}", f"\\boxed{{{a},\\!000,\\!1{c}}}")
        add("textnormal", str(c), f"\\boxed{{\\textnormal{{{c}}}}}", f"\\boxed{{\\textnormal{{{c + 1}}}}}")
        add("answer_mid_line", str(c), f"So $x={c + 1}$ fails; Answer: {c}", f"So $x={c}$ fails; Answer: {c + 1}")
        add("numbers_side_by_side", str(a * b), f"\\boxed{{{a * b}}}", f"{a} {b}")
        add("named_order", f"AB={a},CD={c}", f"\\boxed{{CD={c}, AB={a}}}", f"\\boxed{{{c}, {a}}}")
        add(
            "cases_system",
            f"x={a},y={c}",
            f"\\boxed{{\\begin{{cases}}x={a}\\\\y={c}\\end{{cases}}}}",
            f"\\boxed{{\\begin{{cases}}x={c}\\\\y={a}\\end{{cases}}}}",
        )
        deg = rng.choice([30, 45, 60])
        trig = {30: "\\frac{1}{2}", 45: "\\frac{\\sqrt{2}}{2}", 60: "\\frac{\\sqrt{3}}{2}"}[deg]
        add(
            "trig_degrees",
            trig,
            f"\\boxed{{\\sin {deg}^\\circ}}",
            f"\\boxed{{\\cos {deg if deg != 45 else 30}^\\circ}}",
        )
        add(
            "nested_list_matrix",
            f"\\begin{{pmatrix}}{a}&{b}\\\\{c}&1\\end{{pmatrix}}",
            f"\\boxed{{Matrix([[{a}, {b}], [{c}, 1]])}}",
            f"\\boxed{{[[{a}, {b}], [1, {c}]]}}",
        )
    items = []
    for kind, gold, block, ok in cases:
        items.append({"gold": [gold], "completion": R1_BLOCK % block, "expected": ok, "kind": kind})
    rng.shuffle(items)
    items = items[:n]
    for i, it in enumerate(items):
        it["id"] = str(i)
    return items


R1_BLOCK = "<think>\nLet me think about it step by step.\n</think>\n<answer>\n%s\n</answer>"


def arbiter_answer(completion: str) -> str | tuple[str, ...] | None:
    """What the service verifies for a completion (app/rewards/math_accuracy.py): the answer, or the candidates
    of several different boxes."""
    e = extract_answer(answer_block(completion))
    if e.answer is None and e.candidates:
        return e.candidates
    return e.answer


def answer_block(completion: str) -> str:
    m = re.search(r"<answer>(.*?)</answer>", completion, re.S)
    return m.group(1) if m else completion


def http_pool(args) -> list[dict]:
    """The corpus, long enough for the throughput items, the latency requests and the warm-up (distinct slices)."""
    need = args.n + args.batch * (args.latency_requests + 1)
    if args.corpus == "real":
        return real_format_items(need, args.seed)
    return build_items(need, args.seed, args.hard)


# ------------------------------------------------------------------------------------------------ figures
def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def accuracy(items: list[dict], got: list[bool | None]) -> dict:
    eq = [g for it, g in zip(items, got) if it["expected"]]
    ne = [g for it, g in zip(items, got) if not it["expected"]]
    return {
        "agreement": sum(bool(g) == it["expected"] for it, g in zip(items, got)) / max(1, len(items)),
        "false_negatives": sum(not g for g in eq),
        "recall": sum(bool(g) for g in eq) / max(1, len(eq)),
        "false_positives": sum(bool(g) for g in ne),
        "non_equivalent": len(ne),
        "not_ok": sum(g is None for g in got),
    }


def report(label: str, n: int, seconds: float, lat: list[float], acc: dict) -> float:
    rate = n / seconds
    print(
        f"  {label:<34} {rate:9.1f} items/s   p50 {pct(lat, 50) * 1e3:7.2f} ms   p99 {pct(lat, 99) * 1e3:8.2f} ms"
        f"   agreement {acc['agreement']:.2%}   recall {acc['recall']:.2%}"
        f"   false positives {acc['false_positives']}/{acc['non_equivalent']}   false negatives {acc['false_negatives']}"
        f"   not ok {acc['not_ok']}"
    )
    return rate


# ------------------------------------------------------------------------------------------------ ours
async def run_inprocess(items: list[dict], workers: int, batch: int, timeout_s: float, latency_n: int):
    async with MathWorkerPool(workers=workers, timeout_s=timeout_s, cache_size=0) as pool:
        # throughput: batches as the service sends them (extraction in this process, verification in the pool)
        got: list[bool | None] = []
        t0 = time.perf_counter()
        for i in range(0, len(items), batch):
            chunk = items[i : i + batch]
            exts = [arbiter_answer(it["completion"]) for it in chunk]
            pairs = [(tuple(it["gold"]), e) for it, e in zip(chunk, exts) if e is not None]
            verdicts = iter(await pool.verify_many(pairs))
            for e in exts:
                if e is None:
                    got.append(False)
                else:
                    v = next(verdicts)
                    got.append(v.correct if v.status == "ok" else None)
        seconds = time.perf_counter() - t0
        # per-item latency: one item per call (extraction + IPC + verification)
        lat = []
        for it in items[:latency_n]:
            t = time.perf_counter()
            e = arbiter_answer(it["completion"])
            if e is not None:
                await pool.verify_many([(tuple(it["gold"]), e)])
            lat.append(time.perf_counter() - t)
        return got, seconds, lat


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int, tree: str = ROOT) -> tuple[subprocess.Popen, str]:
    """`arbiter serve` of `tree` (this worktree, or an old commit exported by export_tree) on a free port.

    The cross-request cache is off: the runs repeat the same items, and a cache would serve the second run from
    memory. One bwrap sandbox worker (readiness needs a sandbox; math needs none) keeps the idle cost small."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": tree,
        "ARBITER_MATH_WORKERS": str(workers),
        "ARBITER_MATH_CACHE_SIZE": "0",
        "ARBITER_SANDBOX_BACKEND": "bwrap",
        "ARBITER_SANDBOX_WORKERS": "1",
        "ARBITER_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; raise SystemExit(main(['serve', '--port', '%d']))" % port],
        env=env,
        cwd=tree,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    import httpx

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server of {tree} exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not become ready within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def export_tree(commit: str, into: str) -> str:
    """The app of an old commit, exported into `into` (git archive), to serve it beside this tree in one run."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit, "app"], check=True, capture_output=True).stdout
    os.makedirs(into, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> tuple[float, float]:
    """(own utime+stime, reaped children's cutime+cstime) of a live process, in seconds (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *_descendants(kid)]
    return out


def server_cpu(pid: int) -> tuple[float, float]:
    """(CPU seconds of the server process itself, of its children: math workers, the idle sandbox worker)."""
    own, reaped = _proc_cpu(pid)
    children = reaped + sum(sum(_proc_cpu(kid)) for kid in _descendants(pid))
    return own, children


def request_body(chunk: list[dict]) -> bytes:
    return json.dumps(
        {
            "items": [
                {"id": it["id"], "completion": it["completion"], "reference": {"answer": it["gold"][0]}} for it in chunk
            ],
            "rewards": {"accuracy": {"weight": 1.0}},
        }
    ).encode()


def run_http(items: list[dict], url: str, batch: int, concurrency: int):
    """All items in requests of `batch`, `concurrency` in flight: (verdicts, wall seconds, per-request seconds)."""
    import httpx

    got: list[bool | None] = [None] * len(items)
    lat: list[float] = []
    bodies = [(i, request_body(items[i : i + batch])) for i in range(0, len(items), batch)]

    async def main():
        sem = asyncio.Semaphore(concurrency)
        headers = {"content-type": "application/json"}
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:

            async def send(offset: int, body: bytes):
                async with sem:
                    t = time.perf_counter()
                    r = await client.post("/v1/score", content=body, headers=headers)
                    lat.append(time.perf_counter() - t)
                r.raise_for_status()
                for k, res in enumerate(r.json()["results"]):
                    if res.get("status", "ok") == "ok":
                        comp = res.get("components", {}).get("accuracy", res.get("reward"))
                        got[offset + k] = bool(comp and comp > 0)

            t0 = time.perf_counter()
            await asyncio.gather(*(send(i, body) for i, body in bodies))
            return time.perf_counter() - t0

    seconds = asyncio.run(main())
    return got, seconds, lat


def request_latencies(items: list[dict], url: str, batch: int, requests: int) -> list[float]:
    """Seconds of `requests` requests of `batch` items sent one after another (a trainer's step), each a different
    window of the corpus."""
    import httpx

    step = max(1, (len(items) - batch) // max(1, requests - 1)) if len(items) > batch else 0
    bodies = [request_body(items[k * step : k * step + batch]) for k in range(requests)]
    lat = []
    with httpx.Client(base_url=url, timeout=300, headers={"content-type": "application/json"}) as client:
        for body in bodies:
            t = time.perf_counter()
            client.post("/v1/score", content=body).raise_for_status()
            lat.append(time.perf_counter() - t)
    return lat


@dataclasses.dataclass
class HttpRun:
    rate: float
    lat: list[float]
    server_cpu_s: float
    worker_cpu_s: float
    got: list[bool | None]
    #: CPU seconds of the server process and of the math workers per request of the latency phase: the server's
    #: part is serial, the workers' is shared by 2 processes
    server_cpu_per_request_s: float = 0.0
    worker_cpu_per_request_s: float = 0.0


def measure_http(items: list[dict], lat_items: list[dict], url: str, pid: int | None, args) -> HttpRun:
    own0, kids0 = server_cpu(pid) if pid else (0.0, 0.0)
    got, seconds, _ = run_http(items, url, args.batch, args.concurrency)
    own1, kids1 = server_cpu(pid) if pid else (0.0, 0.0)
    lat = request_latencies(lat_items, url, args.batch, args.latency_requests) if args.latency_requests else []
    own2, kids2 = server_cpu(pid) if pid else (0.0, 0.0)
    k = max(1, args.latency_requests)
    return HttpRun(len(items) / seconds, lat, own1 - own0, kids1 - kids0, got, (own2 - own1) / k, (kids2 - kids1) / k)


def http_main(pool: list[dict], args) -> None:
    """Interleaved runs: (old commit's server,) this tree's server, math-verify; each figure the median of runs.

    Each run starts the servers afresh: the workers' parse caches and the service's normalize cache would
    otherwise serve the items of an earlier run from memory, which math-verify cannot. Within a run the warm-up,
    the throughput items and the latency requests are disjoint slices of the corpus."""
    import statistics

    med = statistics.median
    n, per_lat = args.n, args.batch * args.latency_requests
    if len(pool) < args.batch + n + per_lat:
        raise SystemExit(f"the corpus has {len(pool)} items, {args.batch + n + per_lat} are needed: lower --n")
    items, lat_items, warm = pool[:n], pool[n : n + per_lat], pool[n + per_lat : n + per_lat + args.batch]
    systems: list[tuple[str, str | None]] = [("arbiter HTTP", ROOT)]
    tmp = tempfile.TemporaryDirectory()
    for k, commit in enumerate(args.before or []):
        # each commit in its own directory: `--before dac2239 --before main` serves both beside this tree
        systems.insert(k, (f"arbiter HTTP @ {commit}", export_tree(commit, os.path.join(tmp.name, str(k)))))
    if args.url:
        systems = [("arbiter HTTP " + args.url, None)]
    runs: dict[str, list[HttpRun]] = {label: [] for label, _ in systems}
    base_rates: list[float] = []
    base_got: list[bool | None] = []
    for r in range(args.runs):
        for label, tree in systems:
            proc, url = (None, args.url.rstrip("/")) if tree is None else start_server(args.workers, tree)
            try:
                run_http(warm, url, args.batch, 1)  # the first requests pay imports and the first parses
                run = measure_http(items, lat_items, url, proc.pid if proc else None, args)
            finally:
                if proc is not None:
                    stop_server(proc)
            runs[label].append(run)
            print(
                f"  run {r + 1}: {label:<30} {run.rate:8.1f} items/s   p99/request {pct(run.lat, 99) * 1e3:7.1f} ms"
                f"   CPU s per 1000 items: server {run.server_cpu_s * 1000 / n:.2f},"
                f" math workers {run.worker_cpu_s * 1000 / n:.2f}",
                flush=True,
            )
            if args.show_latencies:
                print("    per request (ms): " + " ".join(f"{x * 1e3:.0f}" for x in run.lat), flush=True)
        if not args.no_baseline:
            bgot, bseconds, _, _ = run_baseline(items)
            base_rates.append(n / bseconds)
            base_got += bgot
            print(f"  run {r + 1}: {'math-verify 0.9.0 (1 core)':<30} {base_rates[-1]:8.1f} items/s", flush=True)
    tmp.cleanup()
    scored = items * args.runs
    print(
        f"medians of {args.runs} runs of the same {n} items, requests of {args.batch} ({args.concurrency} in flight);"
        " per-request latency over other items:"
    )
    for label, rs in runs.items():
        lat = [x for r in rs for x in r.lat]
        acc = accuracy(scored, [g for r in rs for g in r.got])
        print(
            f"  {label:<34} {med(r.rate for r in rs):9.1f} items/s   per {args.batch}-item request (one at a time,"
            f" {len(lat)}): p50 {pct(lat, 50) * 1e3:6.1f} ms  p99 {pct(lat, 99) * 1e3:6.1f} ms"
            f" (CPU per request: server {med(r.server_cpu_per_request_s for r in rs) * 1e3:.0f} ms"
            f" + math workers {med(r.worker_cpu_per_request_s for r in rs) * 1e3:.0f} ms)"
            f"   CPU s/1000 items: server {med(r.server_cpu_s for r in rs) * 1000 / n:.2f}"
            f" + math workers {med(r.worker_cpu_s for r in rs) * 1000 / n:.2f}"
        )
        print(
            f"  {'':<34} agreement {acc['agreement']:.2%}   recall {acc['recall']:.2%}"
            f"   false positives {acc['false_positives']}/{acc['non_equivalent']}"
            f"   false negatives {acc['false_negatives']}   not ok {acc['not_ok']}"
        )
    if base_rates:
        bacc = accuracy(scored, base_got)
        print(
            f"  {'math-verify 0.9.0 in-process (1 core)':<34} {med(base_rates):9.1f} items/s"
            f"   agreement {bacc['agreement']:.2%}   false positives {bacc['false_positives']}/{bacc['non_equivalent']}"
        )
        for label, rs in runs.items():
            ratios = [r.rate / b for r, b in zip(rs, base_rates)]
            print(
                f"  ratio {label} / math-verify: {med(ratios):.2f}x items/s (median of per-run ratios "
                + ", ".join(f"{x:.1f}" for x in ratios)
                + ")"
            )


# ------------------------------------------------------------------------------------------------ slow items
SLOW_ITEMS_SCRIPT = r"""
import json, sys, time
import app.math.parse as parse
from app.math.compare import DEFAULT_CONFIG, verify, verify_candidates
from app.math import workers
data = json.load(open(sys.argv[1]))
leaves = []
latex = parse.latex_to_sympy
def timed_latex(s):
    t = time.perf_counter()
    try:
        return latex(s)
    finally:
        leaves.append(time.perf_counter() - t)
parse.latex_to_sympy = timed_latex
def run(gold, pred):
    key = (tuple(gold), tuple(pred) if isinstance(pred, list) else pred, DEFAULT_CONFIG)
    if workers._fast_verdict(key) is not None:
        return None  # decided in the service process
    del leaves[:]
    t = time.perf_counter()
    verify_candidates(key[0], key[1]) if isinstance(key[1], tuple) else verify(key[0], key[1])
    return time.perf_counter() - t, sum(leaves), len(leaves)
getattr(workers, "_warm_up", lambda: None)()  # as a worker does before it reports ready
for gold, pred in data["before"]:  # the warm-up request and the throughput items, as the server saw them first
    run(gold, pred)
out = []
for window in data["windows"]:
    cpu = time.process_time()
    items = [(r, g, p) for g, p in window if (r := run(g, p)) is not None]
    out.append({"cpu_s": time.process_time() - cpu, "items": [[r[0], r[1], r[2], g, p] for r, g, p in items]})
json.dump(out, open(sys.argv[2], "w"))
"""


def slow_items_main(pool: list[dict], args) -> None:
    """Replays the verification of the latency requests' items as one math worker meets them (after its warm-up,
    the warm-up request and the throughput items), in this tree and in each --before commit, in one run: worker
    CPU per request, the items that reach a worker, the slowest of them and their latex2sympy2 share."""
    n, per_lat, batch = args.n, args.batch * args.latency_requests, args.batch
    items, lat_items, warm = pool[:n], pool[n : n + per_lat], pool[n + per_lat : n + per_lat + batch]

    def pairs(chunk: list[dict]) -> list[tuple[list[str], str | list[str]]]:
        out = []
        for it in chunk:
            e = arbiter_answer(it["completion"])
            if e is not None:
                out.append((it["gold"], e if isinstance(e, str) else list(e)))
        return out

    step = max(1, (len(lat_items) - batch) // max(1, args.latency_requests - 1))
    data = {
        "before": pairs(warm) + pairs(items),
        "windows": [pairs(lat_items[k * step : k * step + batch]) for k in range(args.latency_requests)],
    }
    tmp = tempfile.TemporaryDirectory()
    trees = [(f"@ {c}", export_tree(c, os.path.join(tmp.name, str(k)))) for k, c in enumerate(args.before or [])]
    trees.append(("this tree", ROOT))
    src, script = os.path.join(tmp.name, "pairs.json"), os.path.join(tmp.name, "slow_items.py")
    json.dump(data, open(src, "w"))
    open(script, "w").write(SLOW_ITEMS_SCRIPT)
    for label, tree in trees:
        dst = os.path.join(tmp.name, "out.json")
        env = {**os.environ, "PYTHONPATH": tree, "PYTHONHASHSEED": "0"}
        subprocess.run([sys.executable, script, src, dst], check=True, cwd=tree, env=env)
        windows = json.load(open(dst))
        all_items = sorted((it for w in windows for it in w["items"]), key=lambda it: -it[0])
        cpu = [w["cpu_s"] for w in windows]
        print(
            f"{label}: worker CPU per {batch}-item request p50 {pct(cpu, 50) * 1e3:.0f} ms, max {max(cpu) * 1e3:.0f} ms"
            f" ({len(all_items)} items reach a worker over {len(windows)} requests, {sum(it[0] for it in all_items):.2f} s,"
            f" of which latex2sympy2 {sum(it[1] for it in all_items):.2f} s in {sum(it[2] for it in all_items)} parses)"
        )
        print("  per request (ms): " + " ".join(f"{x * 1e3:.0f}" for x in cpu))
        for t, leaves, k, gold, pred in all_items[: args.slow_items]:
            print(f"  {t * 1e3:6.1f} ms (latex2sympy2 {leaves * 1e3:5.1f} ms, {k} parses)  {gold[0]!r} vs {pred!r}")
    tmp.cleanup()


# ------------------------------------------------------------------------------------------------ baseline
BASELINE_SCRIPT = r"""
import json, sys, time, re
from math_verify import parse, verify
items = json.load(open(sys.argv[1]))
out = []
def block(c):
    m = re.search(r"<answer>(.*?)</answer>", c, re.S)
    return m.group(1) if m else c
parse("$1$"); verify(parse("$x+1$"), parse("$1+x$"))  # warm up
for it in items:
    t = time.perf_counter()
    try:
        golds = [parse("$" + g + "$") for g in it["gold"]]
        pred = parse(block(it["completion"]))
        ok = any(verify(g, pred) for g in golds)
    except Exception:
        ok = None
    out.append([ok, time.perf_counter() - t])
json.dump(out, open(sys.argv[2], "w"))
"""


def ensure_baseline_venv() -> str:
    py = os.path.join(BASELINE_VENV, "bin", "python")
    if not os.path.exists(py):
        print("creating .venv-baseline (math-verify 0.9.0) ...", flush=True)
        subprocess.run(
            [sys.executable if sys.prefix == sys.base_prefix else "python3", "-m", "venv", BASELINE_VENV], check=True
        )
    probe = subprocess.run([py, "-c", "import math_verify"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [py, "-m", "pip", "install", "-q", "math-verify==0.9.0", "latex2sympy2_extended[antlr4_13_2]"], check=True
        )
    return py


def run_baseline(items: list[dict]):
    py = ensure_baseline_venv()
    with tempfile.TemporaryDirectory() as d:
        src, dst, script = (os.path.join(d, x) for x in ("items.json", "out.json", "baseline.py"))
        json.dump([{"gold": it["gold"], "completion": it["completion"]} for it in items], open(src, "w"))
        open(script, "w").write(BASELINE_SCRIPT)
        t0 = time.perf_counter()
        subprocess.run([py, script, src, dst], check=True, cwd=d)
        wall = time.perf_counter() - t0
        out = json.load(open(dst))
    got = [o[0] for o in out]
    lat = [o[1] for o in out]
    return got, sum(lat), lat, wall


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="items (same ones for every system)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--batch", type=int, help="items per verify_many call (default 256) / HTTP request (default 512)")
    ap.add_argument("--timeout", type=float, default=5.0, help="per-item deadline (in-process pool)")
    ap.add_argument("--latency-n", type=int, default=300, help="items timed one by one for p50/p99 (in-process)")
    ap.add_argument("--http", action="store_true", help="start `arbiter serve` on 127.0.0.1 and measure through it")
    ap.add_argument("--url", help="measure a running service at this base URL (its cache may serve repeated runs)")
    ap.add_argument(
        "--before",
        metavar="COMMIT",
        action="append",
        help="with --http: also serve this commit's app, interleaved (repeat for several commits)",
    )
    ap.add_argument("--runs", type=int, default=3, help="HTTP: interleaved runs of every system (medians)")
    ap.add_argument("--concurrency", type=int, default=2, help="HTTP requests in flight")
    ap.add_argument("--latency-requests", type=int, default=6, help="HTTP: requests sent one by one per run (p99)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--hard", action="store_true", help="only golds that are not plain numbers (symbolic path)")
    ap.add_argument(
        "--corpus",
        choices=["math", "real"],
        default="math",
        help="math: variants of the MATH golds; real: answers as models and datasets write them (issue 12)",
    )
    ap.add_argument(
        "--show-latencies", action="store_true", help="HTTP: print each latency request's time, in window order"
    )
    ap.add_argument("--show-misses", type=int, default=0, help="print this many of our wrong verdicts")
    ap.add_argument(
        "--slow-items",
        type=int,
        metavar="K",
        help="replay the latency requests' verifications in one process (this tree and each --before commit):"
        " worker CPU per request and the K slowest items",
    )
    args = ap.parse_args()

    items = real_format_items(args.n, args.seed) if args.corpus == "real" else build_items(args.n, args.seed, args.hard)
    kinds: dict[str, int] = {}
    for it in items:
        kinds[it["kind"]] = kinds.get(it["kind"], 0) + 1
    n_eq = sum(it["expected"] for it in items)
    print(f"{len(items)} items ({n_eq} equivalent, {len(items) - n_eq} non-equivalent): {kinds}")

    if args.slow_items is not None:
        args.batch = args.batch or 512
        slow_items_main(http_pool(args), args)
        return
    if args.http or args.url:
        args.batch = args.batch or 512
        http_main(http_pool(args), args)
        return
    args.batch = args.batch or 256
    got, seconds, lat = asyncio.run(
        run_inprocess(items, args.workers, args.batch, args.timeout, min(args.latency_n, len(items)))
    )
    ours = report(f"arbiter in-process ({args.workers} workers)", len(items), seconds, lat, accuracy(items, got))
    if args.show_misses:
        misses = [
            (it["kind"], it["gold"][0], answer_block(it["completion"]).strip()[16:-1])
            for it, g in zip(items, got)
            if bool(g) != it["expected"]
        ]
        for m in misses[: args.show_misses]:
            print("    miss:", m)

    if not args.no_baseline:
        bgot, bseconds, blat, wall = run_baseline(items)
        base = report("math-verify 0.9.0 in-process (1 core)", len(items), bseconds, blat, accuracy(items, bgot))
        print(f"    (baseline subprocess wall time incl. imports: {wall:.1f} s)")
        print(f"  ratio arbiter / math-verify: {ours / base:.2f}x items/s")


if __name__ == "__main__":
    main()
