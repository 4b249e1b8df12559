"""Arbiter on Ray Serve against plain `arbiter serve`, same machine, same run, same total CPUs.

    .venv/bin/python bench/ray_scale.py                     # ~6 minutes on 2 cores
    .venv/bin/python bench/ray_scale.py --math 256 --code 128 --rounds 2

Three set-ups, each given --cpus cores in all (math workers + sandbox workers = the cores of an engine):
  serve     `arbiter serve` in one process (the baseline);
  ray x1    a one-node local Ray cluster, one replica owning all the cores;
  ray x2    a two-node local Ray cluster (ray.cluster_utils.Cluster), one replica per node, half the cores each:
            every batch is split into parts (--part-items) that both replicas score.
Two workloads: symbolic math items (fresh numbers, few cache hits, half right) and Python code items (one stdin
test each, GRPO groups of 8). Each batch goes in one POST; the figure is the median of --rounds rounds after a
warm-up. On a 2-core machine the Ray set-ups show Ray's overhead (proxy, handle calls, the split), not a speed-up:
the same cores do the work. Per-core figures of the baseline feed docs/scale.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"


def math_items(n: int, rng: random.Random) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        a, b = rng.randint(2, 10**6), rng.randint(2, 10**6)
        gold = f"\\frac{{{a}}}{{{b}}}x + \\sqrt{{{a}}}"
        answer = gold if i % 2 == 0 else f"\\frac{{{a}}}{{{b + 1}}}x + \\sqrt{{{a}}}"
        items.append(
            {
                "id": f"m{i}",
                "group": f"m{i // 8}",
                "completion": R1.format(f"\\boxed{{{answer}}}"),
                "reference": {"answer": gold},
            }
        )
    return items


def code_items(n: int, rng: random.Random) -> list[dict[str, Any]]:
    items = []
    for i in range(n):
        k = rng.randint(1, 10**6)  # a distinct program per item: no deduplication inside the batch
        program = f"x = int(input())\nprint(x * 2 + {k} - {k})" if i % 2 == 0 else f"print(int(input()) + {k})"
        items.append(
            {
                "id": f"c{i}",
                "group": f"c{i // 8}",
                "completion": R1.format(f"```python\n{program}\n```"),
                "reference": {"tests": [{"input": f"{i}\n", "output": f"{2 * i}\n"}]},
            }
        )
    return items


@dataclass
class Figure:
    setup: str
    workload: str
    items: int
    rates: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


Workload = Callable[[random.Random], list[dict[str, Any]]]


def measure(url: str, make: Workload, rounds: int) -> list[float]:
    """Fresh items every round (seeded alike for every set-up): sympy's and the engine's caches would otherwise
    answer the repeats."""
    with httpx.Client(timeout=600) as http:
        warm = http.post(f"{url}/v1/score", json={"items": make(random.Random(-1))[:32], "rewards": {"accuracy": {}}})
        warm.raise_for_status()
        rates = []
        for r in range(rounds):
            items = make(random.Random(r))
            body = {"items": items, "rewards": {"accuracy": {}}}
            started = time.perf_counter()
            response = http.post(f"{url}/v1/score", json=body)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            results = response.json()["results"]
            bad = [r for r in results if r["status"] != "ok"]
            if len(results) != len(items) or bad:
                raise SystemExit(f"{len(bad)} items not ok: {bad[:2]}")
            rates.append(len(items) / elapsed)
    return rates


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, seconds: float, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit("the server exited before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready within {seconds} s")


def engine_env(cpus: int) -> dict[str, str]:
    return {
        "ARBITER_MATH_WORKERS": str(cpus),
        "ARBITER_SANDBOX_WORKERS": str(cpus),
        "ARBITER_SANDBOX_BACKEND": "bwrap",
        "ARBITER_MATH_CACHE_SIZE": "0",  # every round does the work again
        "ARBITER_LOG_LEVEL": "warning",
    }


def run_plain(cpus: int, workloads: dict[str, Workload], rounds: int) -> list[Figure]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **engine_env(cpus)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, 90, lambda: proc.poll() is None)
        return [
            Figure("serve", name, len(make(random.Random(0))), measure(url, make, rounds))
            for name, make in workloads.items()
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_ray(
    label: str, nodes: int, cpus: int, part_items: int, workloads: dict[str, Workload], rounds: int
) -> list[Figure]:
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from app.ray_serve import ArbiterReplica, RayServeArgs

    per_node = cpus // nodes
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": per_node})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=per_node)
    ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
    try:
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        env = {k: v for k, v in engine_env(per_node).items() if not k.endswith("_WORKERS")}  # from num_cpus
        deployment = ArbiterReplica.options(  # type: ignore[attr-defined]
            num_replicas=nodes,
            autoscaling_config=None,
            ray_actor_options={"num_cpus": per_node, "runtime_env": {"env_vars": env}},
        )
        serve.run(deployment.bind(RayServeArgs(part_items=part_items)), name="arbiter", route_prefix="/")
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, 120, lambda: True)
        return [
            Figure(label, name, len(make(random.Random(0))), measure(url, make, rounds))
            for name, make in workloads.items()
        ]
    finally:
        serve.shutdown()
        ray.shutdown()
        cluster.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--math", type=int, default=512, help="math items per batch")
    parser.add_argument("--code", type=int, default=256, help="code items per batch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpus", type=int, default=2, help="cores given to each set-up in all (even)")
    parser.add_argument("--part-items", type=int, default=64, help="part size of the split batches (ray x2)")
    args = parser.parse_args()
    workloads: dict[str, Workload] = {
        "math": lambda rng: math_items(args.math, rng),
        "code": lambda rng: code_items(args.code, rng),
    }
    print(f"machine: {len(os.sched_getaffinity(0))} cores visible; each set-up gets {args.cpus} in all")
    figures = run_plain(args.cpus, workloads, args.rounds)
    figures += run_ray("ray x1", 1, args.cpus, args.part_items, workloads, args.rounds)
    figures += run_ray("ray x2", 2, args.cpus, args.part_items, workloads, args.rounds)
    base = {f.workload: f.median for f in figures if f.setup == "serve"}
    print(f"\n{'set-up':8} {'workload':8} {'items':>6} {'items/s (median)':>17} {'vs serve':>9}  rounds")
    for f in figures:
        rounds = " ".join(f"{r:.0f}" for r in f.rates)
        print(f"{f.setup:8} {f.workload:8} {f.items:6d} {f.median:17.1f} {f.median / base[f.workload]:9.2f}  {rounds}")
    for workload, rate in base.items():
        print(f"per core (serve, {args.cpus} cores): {workload} {rate / args.cpus:.1f} items/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
