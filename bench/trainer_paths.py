"""Rollouts per second through verl 0.9.1's reward loop: the Arbiter adapter beside verl's own scorer, same run.

Each configuration runs tests/client/verl_reward_loop.py in the verl venv (.venv-verl, `make install`): 512
rollouts of gsm8k / MATH rows (written and loaded the way verl does) through `RewardLoopWorker.compute_score_batch`
with the naive manager (or the Arbiter batch manager). The time is the reward loop's alone (imports, dataset and config excluded).

- `verl default_compute_score`: verl's in-process rule-based scorer (no custom reward function), the baseline;
- `arbiter batch manager`: arbiter_client.adapters.verl_manager.ArbiterRewardManager
  (`reward.reward_manager.source=importlib`), the worker's batch in one request;
- `arbiter, micro-batched`: the adapter function with verl's naive manager (concurrent per-rollout calls
  coalesced into requests);
- `arbiter, one request per rollout`: `ARBITER_BATCH_MAX_ITEMS=1`, what per-rollout HTTP calls cost.

Usage: python bench/trainer_paths.py [--rollouts 512] [--repeats 3]  (starts its own Arbiter on a free port)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VERL_PYTHON = ROOT / ".venv-verl" / "bin" / "python"
SCRIPT = ROOT / "tests" / "client" / "verl_reward_loop.py"
MATH_ROWS = 4  # the math rows of verl_reward_loop.ROWS


@contextmanager
def arbiter() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, ARBITER_SANDBOX_WORKERS="1", ARBITER_SANDBOX_BACKEND="bwrap")
    # The server's access log would drown the figures: it goes nowhere.
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("arbiter did not answer /healthz within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def run(url: str, repeat: int, extra_args: list[str], env: dict[str, str]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="arbiter-bench-verl-") as workdir:
        done = subprocess.run(
            [str(VERL_PYTHON), str(SCRIPT), "--workdir", workdir, "--math-only", "--repeat", str(repeat), *extra_args],
            env={**os.environ, "ARBITER_URL": url, **env},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return float(out["elapsed_s"]), int(out["n"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not VERL_PYTHON.exists():
        sys.exit(f"{VERL_PYTHON} is missing: run `make install` first")
    repeat = max(1, args.rollouts // MATH_ROWS)
    configs: list[tuple[str, list[str], dict[str, str]]] = [
        ("verl default_compute_score", ["--default-compute-score"], {}),
        ("arbiter batch manager", ["--manager", "arbiter"], {}),
        ("arbiter, micro-batched", [], {}),
        ("arbiter, one request per rollout", [], {"ARBITER_BATCH_MAX_ITEMS": "1"}),
    ]
    timings: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    n = 0
    with arbiter() as url:
        for _ in range(args.repeats):  # interleaved, so that machine noise hits every configuration alike
            for name, extra, env in configs:
                elapsed, n = run(url, repeat, extra, env)
                timings[name].append(elapsed)
    baseline = n / statistics.median(timings[configs[0][0]])
    print(f"{n} rollouts through verl 0.9.1's reward loop (in-process worker), {args.repeats} runs, medians")
    print(f"{'configuration':36} {'median s':>9} {'items/s':>9} {'vs verl':>8}")
    for name, _, _ in configs:
        median = statistics.median(timings[name])
        rate = n / median
        print(f"{name:36} {median:9.3f} {rate:9.0f} {rate / baseline:7.2f}x")


if __name__ == "__main__":
    main()
