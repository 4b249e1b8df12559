"""Closed-loop load test of /v1/score: throughput, latency, 429 share and memory at 1x, 2x and 10x capacity.

    .venv/bin/python bench/load.py                 # starts its own `arbiter serve` on 127.0.0.1 (bwrap backend)
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --key K   # an existing server (no RSS figures)

Capacity is the number of batches the server admits at once (ARBITER_MAX_ITEMS_IN_FLIGHT / batch size, the
started server gets --capacity batches' worth); each level runs `clients` concurrent closed loops (send a batch,
wait for the answer, send the next; after a 429 wait --backoff s) for --seconds. Everything is bounded: levels,
duration, request timeouts; the server it started is stopped with SIGTERM at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"


def batch(size: int, rng: random.Random) -> list[dict[str, object]]:
    """Math items that need the worker pool (symbolic, fresh numbers: few cache hits), half of them right."""
    items = []
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


async def client_loop(
    http: httpx.AsyncClient, level: Level, size: int, stop_at: float, backoff: float, seed: int
) -> None:
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
            await asyncio.sleep(backoff)
            continue
        if r.status_code != 200:
            level.errors += 1
            continue
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


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    """Peak of the summed VmRSS of the server and its children (math workers, bwrap sandboxes)."""
    while not stop.is_set():
        peak[0] = max(peak[0], sum(status_kb(p, "VmRSS") for p in tree_pids(pid)))
        await asyncio.sleep(0.2)


async def run_level(
    url: str, headers: dict[str, str], level: Level, size: int, seconds: float, backoff: float, pid: int | None
) -> int:
    limits = httpx.Limits(max_connections=level.clients, max_keepalive_connections=level.clients)
    peak = [0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, peak, stop)) if pid else None
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as http:
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(client_loop(http, level, size, stop_at, backoff, seed=k) for k in range(level.clients)))
        level.seconds = time.monotonic() - started
    stop.set()
    if sampler:
        await sampler
    return peak[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(capacity_items: int, workers: int) -> tuple[subprocess.Popen[bytes], str]:
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
        cwd=ROOT,
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


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an existing server (default: start one)")
    ap.add_argument("--key", help="API key for --url")
    ap.add_argument("--batch", type=int, default=16, help="items per request (default 16)")
    ap.add_argument("--capacity", type=int, default=4, help="batches the started server admits at once (default 4)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each level (default 10)")
    ap.add_argument("--backoff", type=float, default=0.05, help="client wait after a 429 (default 0.05 s)")
    ap.add_argument("--workers", type=int, default=2, help="math workers of the started server (default 2)")
    args = ap.parse_args()

    proc = None
    url = args.url
    if url is None:
        proc, url = start_server(args.capacity * args.batch, args.workers)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    try:
        print(
            f"server {url}; batch {args.batch} items; capacity {args.capacity} batches in flight; "
            f"{args.seconds:g} s per level"
        )
        print(
            f"{'level':>5} {'clients':>7} {'items/s':>8} {'req/s':>6} {'p50 s':>6} {'p99 s':>6} {'429 %':>6} "
            f"{'errors':>6} {'missing':>7} {'peak RSS MB':>11}"
        )
        missing = 0
        for name, factor in (("1x", 1), ("2x", 2), ("10x", 10)):
            level = Level(name, clients=args.capacity * factor)
            peak_kb = asyncio.run(
                run_level(url, headers, level, args.batch, args.seconds, args.backoff, proc.pid if proc else None)
            )
            sent = level.accepted + level.rejected
            share = 100 * level.rejected / sent if sent else 0.0
            items_s = level.accepted * args.batch / level.seconds
            rss = f"{peak_kb / 1024:.0f}" if proc else "n/a"
            missing += level.missing
            print(
                f"{name:>5} {level.clients:>7} {items_s:>8.0f} {level.accepted / level.seconds:>6.1f} "
                f"{pct(level.latencies, 0.5):>6.2f} {pct(level.latencies, 0.99):>6.2f} {share:>6.1f} "
                f"{level.errors:>6} {level.missing:>7} {rss:>11}"
            )
        if proc:
            hwm = sum(status_kb(p, "VmHWM") for p in tree_pids(proc.pid))
            print(f"server process tree VmHWM (sum of per-process peaks): {hwm / 1024:.0f} MB")
        print("every accepted item got a result" if missing == 0 else f"{missing} accepted items got NO result")
        if missing:
            return 1
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
