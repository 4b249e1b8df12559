"""The two obvious Docker designs the warm pool has to beat, as extra rows of bench/code_bench.py:

  * `docker run --rm` per test: a fresh hardened container for every test
  * `docker exec` per test into one warm hardened container

Both run the same trivial program with the same stdin as the pool rows, through the docker CLI (what the
architecture page's figures were measured with), with the pool's hardening flags, as the pool's program uid.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable

IMAGE = "arbiter-sandbox:latest"
HARDENING = [
    "--network",
    "none",
    "--read-only",
    "--tmpfs",
    "/tmp:rw,exec,nosuid,nodev,size=256m,mode=1777",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--pids-limit",
    "128",
    "--memory",
    "1g",
    "--memory-swap",
    "1g",
    "--cpus",
    "1.5",  # DockerConfig.cpus
    "--log-driver",
    "none",
    "--user",
    "62000:62000",
    "--label",
    "arbiter.role=bench",
]


def _check(p: subprocess.CompletedProcess, expected: str) -> None:
    if p.returncode != 0 or p.stdout.strip() != expected:
        raise RuntimeError(f"docker bench row: rc={p.returncode} out={p.stdout!r} err={p.stderr[-500:]!r}")


def docker_run_rm(source: str) -> Callable[[int], list[float]]:
    def run(n: int) -> list[float]:
        lat = []
        for i in range(n):
            t = time.perf_counter()
            p = subprocess.run(
                ["docker", "run", "--rm", "-i", *HARDENING, IMAGE, "python3", "-I", "-c", source],
                input=f"{i}\n",
                capture_output=True,
                text=True,
                timeout=60,
            )
            lat.append(time.perf_counter() - t)
            _check(p, str(i))
        return lat

    return run


def docker_exec_warm(source: str) -> Callable[[int], list[float]]:
    def run(n: int) -> list[float]:
        name = f"arbiter-bench-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["docker", "run", "-d", "--name", name, *HARDENING, IMAGE, "sleep", "infinity"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        try:
            lat = []
            for i in range(n):
                t = time.perf_counter()
                p = subprocess.run(
                    ["docker", "exec", "-i", name, "python3", "-I", "-c", source],
                    input=f"{i}\n",
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                lat.append(time.perf_counter() - t)
                _check(p, str(i))
            return lat
        finally:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)

    return run


def register(extra_rows: dict, source: str) -> None:
    extra_rows.setdefault("docker", []).extend(
        [
            ("docker run --rm per test (hardened)", docker_run_rm(source)),
            ("docker exec per test into a warm container", docker_exec_warm(source)),
        ]
    )
