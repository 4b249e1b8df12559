"""Closed-loop load test of /v1/score: goodput, latency, 429 share, memory and CPU (server AND load generator)
at 1x, 2x and 10x capacity, for the server of this tree beside the baseline commit's server in the same run.

    .venv/bin/python bench/load.py                  # before/after, 3 runs each, interleaved (bwrap backend)
    .venv/bin/python bench/load.py --configs after --runs 1 --levels 10x      # one quick look
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --key K       # an existing server (no RSS/CPU)

Capacity is the number of batches the server admits at once (ARBITER_MAX_ITEMS_IN_FLIGHT / batch size, the
started server gets --capacity batches' worth); each level runs `clients` concurrent closed loops (send a batch,
wait for the answer, send the next) for --seconds. After a 429 a loop waits as its client policy says:

- `retry-after`: what arbiter_client does (client/arbiter_client/core.py, Core.backoff): the larger of the
  server's Retry-After and a full-jitter exponential backoff (0.25 s * 2^attempt, at most 8 s).
- `fixed`: a fixed --backoff (0.05 s) whatever the server says: a client that ignores Retry-After; this was the
  only policy of this bench before, kept to show what a 429 storm costs.

Configurations (--configs): `before` = the server of --baseline (default dac2239, exported with `git archive` into
a temp dir) under the fixed-backoff client, as this bench measured it then; `after` = this tree's server under the
retry-after client; `after-fixed` = this tree's server under the fixed-backoff client (the server's own cost of a
429 storm); `before-ra` = the baseline server under the retry-after client; `main` / `main-fixed` = the server of
--main (a second baseline, e.g. `--main $(git rev-parse main)`) under either client.

Occupancy (`occ %`): the mean share of ARBITER_MAX_ITEMS_IN_FLIGHT admitted, from /metrics scraped every
--scrape-s (0.1 s) during the level; 100% minus it is capacity that idled (e.g. while refused clients sleep out
their Retry-After). The scrapes cost every configuration the same small CPU.

Goodput is items/s of accepted batches whose every item came back. Beside it: the CPU seconds per second of the
server's process tree (service, math workers, sandboxes; /proc) and of this load generator itself (process_time):
both share the same 2 cores, so a client that burns CPU on 429s lowers the server's figure too.
Everything is bounded: levels, durations, request timeouts; servers are stopped with SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from arbiter_client.core import Core, parse_retry_after
from arbiter_client.models import ClientConfig

ROOT = Path(__file__).resolve().parents[1]
R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"
BASELINE_COMMIT = "dac2239"
LEVELS = {"1x": 1, "2x": 2, "10x": 10}
Policy = Literal["retry-after", "fixed"]
Server = Literal["tree", "baseline", "main"]
CONFIGS: dict[str, tuple[Server, Policy]] = {  # name: (whose server, client policy)
    "before": ("baseline", "fixed"),
    "after": ("tree", "retry-after"),
    "after-fixed": ("tree", "fixed"),
    "before-ra": ("baseline", "retry-after"),
    "main": ("main", "retry-after"),
    "main-fixed": ("main", "fixed"),
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def batch(size: int, rng: random.Random) -> list[dict[str, object]]:
    """Math items that need the worker pool (symbolic, fresh numbers: few cache hits), half of them right."""
    items: list[dict[str, object]] = []
    for i in range(size):
        a, b = rng.randint(2, 10**6), rng.randint(2, 10**6)
        gold = f"\\frac{{{a}}}{{{b}}}x + \\sqrt{{{a}}}"
        answer = gold if i % 2 == 0 else f"\\frac{{{a}}}{{{b + 1}}}x + \\sqrt{{{a}}}"
        items.append({"id": f"{i}", "completion": R1.format(f"\\boxed{{{answer}}}"), "reference": {"answer": gold}})
    return items


@dataclass
class Level:
    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    ok_items: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    missing: int = 0
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = float("nan")
    service_cpu_s: float = float("nan")  # the service process alone (event loop), without its workers
    others_cpu_s: float = float("nan")  # every other process of the machine
    peak_rss_kb: int = 0
    occupancy: list[float] = field(default_factory=list)  # items in flight / limit, one per scrape

    def goodput(self, size: int) -> float:
        return max(0, self.accepted * size - self.missing) / self.seconds


class Backoff:
    """What a loop waits after a 429."""

    def __init__(self, policy: Policy, fixed_s: float, seed: int) -> None:
        self.policy = policy
        self.fixed_s = fixed_s
        rng = random.Random(10_000 + seed)
        # The client library's own backoff rule, with a seeded jitter so that runs repeat.
        self.core = Core(ClientConfig.build("http://unused"), jitter=rng.uniform)
        self.attempt = 0

    def after_429(self, response: httpx.Response) -> float:
        if self.policy == "fixed":
            return self.fixed_s
        delay = self.core.backoff(self.attempt, parse_retry_after(response.headers.get("retry-after")))
        self.attempt += 1
        return delay

    def after_success(self) -> None:
        self.attempt = 0


async def client_loop(
    http: httpx.AsyncClient, level: Level, size: int, stop_at: float, backoff: Backoff, seed: str
) -> None:
    # Fresh numbers per configuration, run, level and loop: a batch never repeats one a math worker has seen.
    rng = random.Random(seed)
    while time.monotonic() < stop_at:
        items = batch(size, rng)
        started = time.monotonic()
        try:
            r = await http.post("/v1/score", json={"items": items, "rewards": {"accuracy": {}}})
        except httpx.HTTPError:
            level.errors += 1
            continue
        if r.status_code == 429:
            level.rejected += 1
            # A wait past the end of the level would not send again: stop there instead of idling.
            await asyncio.sleep(min(backoff.after_429(r), max(0.0, stop_at - time.monotonic())))
            continue
        if r.status_code != 200:
            level.errors += 1
            continue
        backoff.after_success()
        level.latencies.append(time.monotonic() - started)
        level.accepted += 1
        results = r.json()["results"]
        # Every accepted item must come back, in order, with a status.
        got = [res["id"] for res in results if res.get("status")]
        level.missing += len(items) - len(got) if got == [it["id"] for it in items][: len(got)] else len(items)
        level.ok_items += sum(1 for res in results if res["status"] == "ok")


def tree_pids(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return pids


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int, *, reaped: bool) -> float:
    """User + system CPU seconds of one process (with reaped: plus those of its reaped children)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[11] is utime (field 14)
    return sum(int(f) for f in fields[11 : 15 if reaped else 13]) / CLK_TCK


def machine_cpu_s() -> float:
    """CPU seconds the whole machine spent busy (every process, all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process tree: each live process plus its reaped children."""
    return sum(cpu_s(p, reaped=True) for p in tree_pids(pid))


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    """Peak of the summed VmRSS of the server and its children (math workers, bwrap sandboxes)."""
    while not stop.is_set():
        peak[0] = max(peak[0], sum(status_kb(p, "VmRSS") for p in tree_pids(pid)))
        await asyncio.sleep(0.2)


async def sample_occupancy(http: httpx.AsyncClient, level: Level, every_s: float, stop_at: float) -> None:
    """Items in flight over the limit, from /metrics, every `every_s` until the level ends."""
    while time.monotonic() < stop_at:
        try:
            text = (await http.get("/metrics")).text
        except httpx.HTTPError:
            continue
        gauges = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in ("arbiter_items_in_flight", "arbiter_items_in_flight_limit"):
                gauges[name] = float(value)
        if len(gauges) == 2:
            level.occupancy.append(gauges["arbiter_items_in_flight"] / gauges["arbiter_items_in_flight_limit"])
        await asyncio.sleep(every_s)


async def run_level(
    url: str,
    headers: dict[str, str],
    level: Level,
    size: int,
    seconds: float,
    policy: Policy,
    fixed_s: float,
    pid: int | None,
    tag: str,
    scrape_s: float,
) -> None:
    limits = httpx.Limits(max_connections=level.clients, max_keepalive_connections=level.clients)
    peak = [0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, peak, stop)) if pid else None
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as http,
        httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as scraper,
    ):
        cpu0, server0, service0 = time.process_time(), tree_cpu_s(pid) if pid else 0.0, cpu_s(pid or 0, reaped=False)
        machine0 = machine_cpu_s()
        started = time.monotonic()
        stop_at = started + seconds
        scraping = [sample_occupancy(scraper, level, scrape_s, stop_at)] if scrape_s > 0 else []
        await asyncio.gather(
            *scraping,
            *(
                client_loop(
                    http, level, size, stop_at, Backoff(policy, fixed_s, seed=k), seed=f"{tag}-{level.name}-{k}"
                )
                for k in range(level.clients)
            ),
        )
        level.seconds = time.monotonic() - started
        level.client_cpu_s = time.process_time() - cpu0
        if pid:
            level.server_cpu_s = tree_cpu_s(pid) - server0
            level.service_cpu_s = cpu_s(pid, reaped=False) - service0
            # What the machine's other users took meanwhile (other jobs on a shared machine): shows the noise.
            level.others_cpu_s = machine_cpu_s() - machine0 - level.server_cpu_s - level.client_cpu_s
    stop.set()
    if sampler:
        await sampler
    level.peak_rss_kb = peak[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def export_tree(commit: str, into: Path) -> Path:
    """The baseline's code (app/ and sandbox/) from git; run with cwd there, it comes before the editable install."""
    archive = subprocess.run(["git", "archive", commit, "app", "sandbox"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def start_server(capacity_items: int, workers: int, cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(
        os.environ,
        ARBITER_SANDBOX_BACKEND="bwrap",
        ARBITER_SANDBOX_WORKERS="1",
        ARBITER_MATH_WORKERS=str(workers),
        ARBITER_MAX_ITEMS_IN_FLIGHT=str(capacity_items),
        ARBITER_MAX_ITEMS=str(capacity_items),
        ARBITER_MATH_CACHE_SIZE="0",
        ARBITER_LOG_LEVEL="warning",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not answer within 90 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def per_item(cpu_s: float, level: Level, size: int) -> float:
    good = level.goodput(size) * level.seconds
    return 1000 * cpu_s / good if good else float("nan")


def total_per_item(level: Level, size: int) -> float:
    return per_item(level.server_cpu_s + level.client_cpu_s, level, size)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


HEADER = (
    f"{'config':>11} {'run':>3} {'level':>5} {'clients':>7} {'items/s':>8} {'req/s':>6} {'p50 s':>6} {'p99 s':>6} "
    f"{'429 %':>6} {'429/s':>6} {'err':>4} {'miss':>4} {'srv cpu/s':>9} {'svc cpu/s':>9} {'gen cpu/s':>9} {'oth cpu/s':>9} {'RSS MB':>6} {'occ %':>5}"
)


def row(config: str, run: int, level: Level, size: int) -> str:
    sent = level.accepted + level.rejected
    share = 100 * level.rejected / sent if sent else 0.0
    rss = f"{level.peak_rss_kb / 1024:.0f}" if level.peak_rss_kb else "n/a"
    occ = f"{100 * statistics.mean(level.occupancy):.0f}" if level.occupancy else "n/a"
    return (
        f"{config:>11} {run:>3} {level.name:>5} {level.clients:>7} {level.goodput(size):>8.0f} "
        f"{level.accepted / level.seconds:>6.1f} {pct(level.latencies, 0.5):>6.2f} {pct(level.latencies, 0.99):>6.2f} "
        f"{share:>6.1f} {level.rejected / level.seconds:>6.0f} {level.errors:>4} {level.missing:>4} "
        f"{level.server_cpu_s / level.seconds:>9.2f} {level.service_cpu_s / level.seconds:>9.2f} "
        f"{level.client_cpu_s / level.seconds:>9.2f} {level.others_cpu_s / level.seconds:>9.2f} {rss:>6} {occ:>5}"
    )


def run_config(
    config: str, run: int, args: argparse.Namespace, trees: dict[Server, Path], levels: list[str]
) -> list[Level]:
    server, policy = CONFIGS[config]
    proc = None
    url = args.url
    if url is None:
        cwd = trees.get(server, ROOT)
        proc, url = start_server(args.capacity * args.batch, args.workers, cwd)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    done = []
    try:
        for name in levels:
            level = Level(name, clients=args.capacity * LEVELS[name])
            asyncio.run(
                run_level(
                    url,
                    headers,
                    level,
                    args.batch,
                    args.seconds,
                    policy,
                    args.backoff,
                    proc.pid if proc else None,
                    tag=f"{config}-{run}",
                    scrape_s=args.scrape_s,
                )
            )
            print(row(config, run, level, args.batch), flush=True)
            done.append(level)
    finally:
        if proc:
            stop_server(proc)
    return done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an existing server (default: start one per configuration and run)")
    ap.add_argument("--key", help="API key for --url")
    ap.add_argument("--batch", type=int, default=16, help="items per request (default 16)")
    ap.add_argument("--capacity", type=int, default=4, help="batches the started server admits at once (default 4)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each level (default 10)")
    ap.add_argument("--backoff", type=float, default=0.05, help="wait of the fixed policy after a 429 (default 0.05 s)")
    ap.add_argument("--workers", type=int, default=2, help="math workers of the started server (default 2)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each configuration, interleaved (default 3)")
    ap.add_argument(
        "--configs", default="before,after", help=f"comma-separated, of {', '.join(CONFIGS)} (default before,after)"
    )
    ap.add_argument("--levels", default="1x,2x,10x", help="comma-separated, of 1x, 2x, 10x (default all)")
    ap.add_argument(
        "--baseline", default=BASELINE_COMMIT, help=f"commit of the `before` server (default {BASELINE_COMMIT})"
    )
    ap.add_argument("--main", help="commit of the `main` / `main-fixed` server (e.g. $(git rev-parse main))")
    ap.add_argument("--scrape-s", type=float, default=0.1, help="occupancy scrape of /metrics every so many s (0: off)")
    args = ap.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    levels = [lv for lv in args.levels.split(",") if lv]
    if unknown := [c for c in configs if c not in CONFIGS] + [lv for lv in levels if lv not in LEVELS]:
        ap.error(f"unknown configuration or level: {', '.join(unknown)}")
    if args.url and any(CONFIGS[c][0] != "tree" for c in configs):
        ap.error("--url scores one server: use --configs after (or after-fixed)")

    print(
        f"batch {args.batch} items; capacity {args.capacity} batches in flight; {args.seconds:g} s per level; "
        f"{args.runs} run(s) of {', '.join(configs)}; baseline server {args.baseline}; main server {args.main}; "
        f"{os.cpu_count()} cores"
    )
    print(
        "srv cpu/s: CPU seconds per second of the server's process tree (svc: of the service process alone, its "
        "event loop); gen cpu/s: of this load generator; oth cpu/s: of every other process on the machine"
    )
    print(HEADER)
    results: dict[tuple[str, str], list[Level]] = {}
    if any(CONFIGS[c][0] == "main" for c in configs) and not args.main:
        ap.error("--configs main / main-fixed need --main COMMIT")
    with tempfile.TemporaryDirectory(prefix="arbiter-baseline-") as tmp:
        trees: dict[Server, Path] = {}
        exports: tuple[tuple[Server, str], ...] = (("baseline", args.baseline), ("main", args.main))
        for server, commit in exports:
            if any(CONFIGS[c][0] == server for c in configs):
                (Path(tmp) / server).mkdir()
                trees[server] = export_tree(commit, Path(tmp) / server)
        for run in range(args.runs):
            for config in configs:
                for level in run_config(config, run, args, trees, levels):
                    results.setdefault((config, level.name), []).append(level)

    print(f"\nmedians over {args.runs} run(s):")
    print(
        f"{'config':>11} {'level':>5} {'items/s':>8} {'of 1x':>6} {'429 %':>6} {'p99 s':>6} {'srv cpu s':>9} "
        f"{'svc cpu s':>9} {'gen cpu s':>9} {'srv ms/item':>11} {'gen ms/item':>11} {'cpu of 1x':>9} {'occ %':>5}  per-run of 1x"
    )
    missing = 0
    for config in configs:
        one = [lv.goodput(args.batch) for lv in results.get((config, "1x"), [])]
        one_cpu = [total_per_item(lv, args.batch) for lv in results.get((config, "1x"), [])]
        for name in levels:
            runs = results[(config, name)]
            missing += sum(lv.missing for lv in runs)
            good = statistics.median(lv.goodput(args.batch) for lv in runs)
            sent = [lv.accepted + lv.rejected for lv in runs]
            share = statistics.median(100 * lv.rejected / s if s else 0.0 for lv, s in zip(runs, sent, strict=True))
            ratio = f"{100 * good / statistics.median(one):>5.0f}%" if one else "   n/a"
            # Goodput per CPU second (server + load generator), relative to 1x: what the ratio of items/s would
            # be if this benchmark had the cores to itself.
            cost = statistics.median(total_per_item(lv, args.batch) for lv in runs)
            cpu_ratio = f"{100 * statistics.median(one_cpu) / cost:.0f}%" if one_cpu and cost == cost else "n/a"
            occupancies = [statistics.mean(lv.occupancy) for lv in runs if lv.occupancy]
            occ = f"{100 * statistics.median(occupancies):.0f}" if occupancies else "n/a"
            # Each run's level beside the 1x of the same run, minutes apart rather than the whole bench apart:
            # the other load on a shared machine moves less between them.
            paired = [100 * lv.goodput(args.batch) / base for lv, base in zip(runs, one, strict=False) if base]
            per_run = " ".join(f"{r:.0f}%" for r in paired)
            per_run += f" (median {statistics.median(paired):.0f}%)" if paired else ""
            print(
                f"{config:>11} {name:>5} {good:>8.0f} {ratio:>6} {share:>6.1f} "
                f"{statistics.median(pct(lv.latencies, 0.99) for lv in runs):>6.2f} "
                f"{statistics.median(lv.server_cpu_s for lv in runs):>9.1f} "
                f"{statistics.median(lv.service_cpu_s for lv in runs):>9.1f} "
                f"{statistics.median(lv.client_cpu_s for lv in runs):>9.1f} "
                f"{statistics.median(per_item(lv.server_cpu_s, lv, args.batch) for lv in runs):>11.2f} "
                f"{statistics.median(per_item(lv.client_cpu_s, lv, args.batch) for lv in runs):>11.2f} "
                f"{cpu_ratio:>9} {occ:>5}  {per_run}"
            )
    print(
        "target: 10x goodput >= 90% of 1x (of the same configuration). ms/item: CPU milliseconds per good item, "
        "which the other load on a shared machine changes less than items/s; cpu of 1x: goodput per CPU second "
        "(server + load generator) relative to 1x; per-run of 1x: each run's items/s over the 1x of the same run"
    )
    print("every accepted item got a result" if missing == 0 else f"{missing} accepted items got NO result")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
