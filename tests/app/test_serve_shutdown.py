"""Graceful shutdown of `arbiter serve`: on SIGTERM it stops accepting, finishes the batch in flight, removes its
sandbox workers and exits 0. Also checks its JSON request log line. A real server process on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"
SLOW = "import time\ntime.sleep(2.5)\nprint(int(input()) * 2)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(backend: str, instance: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = dict(
        os.environ,
        ARBITER_SANDBOX_BACKEND=backend,
        ARBITER_SANDBOX_WORKERS="1",
        ARBITER_MATH_WORKERS="1",
        ARBITER_SHUTDOWN_GRACE_S="20",
        ARBITER_SANDBOX_INSTANCE=instance,
        ARBITER_LOG_FORMAT="json",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"arbiter serve exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            ready = httpx.get(f"{url}/readyz", timeout=2)
            if ready.status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"arbiter serve ({backend}) not ready within 90 s: {proc.stderr.read()[-2000:]}")
        time.sleep(0.3)


def shutdown_during_a_batch(backend: str, instance: str) -> None:
    proc, url = start_server(backend, instance)
    try:
        body = {
            "items": [
                {
                    "id": "slow",
                    "completion": R1.format(f"```python\n{SLOW}\n```"),
                    "reference": {"tests": [{"input": "2\n", "output": "4\n"}], "limits": {"cpu_s": 5}},
                }
            ],
            "rewards": {"accuracy": {}},
        }
        answer: dict[str, httpx.Response] = {}
        client = threading.Thread(
            target=lambda: answer.setdefault("r", httpx.post(f"{url}/v1/score", json=body, timeout=60))
        )
        client.start()
        # SIGTERM once the batch is admitted (in flight), not before.
        deadline = time.monotonic() + 10
        while "arbiter_items_in_flight 1.0" not in httpx.get(f"{url}/metrics", timeout=5).text:
            assert time.monotonic() < deadline, "the batch never got in flight"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz", timeout=2)  # draining: the listener is closed, nothing new is accepted
        client.join(60)
        response = answer["r"]
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert (result["status"], result["reward"]) == ("ok", 1.0), result
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    scored = [line for line in lines if line.get("msg") == "request" and line.get("path") == "/v1/score"]
    assert scored and scored[0]["items"] == 1 and scored[0]["outcomes"] == {"ok": 1} and scored[0]["status"] == 200


@pytest.mark.bwrap
@pytest.mark.slow
def test_sigterm_finishes_the_batch_in_flight_bwrap() -> None:
    shutdown_during_a_batch("bwrap", "unused")


@pytest.mark.docker
@pytest.mark.slow
def test_sigterm_finishes_the_batch_and_leaves_no_container_docker() -> None:
    probe = subprocess.run(["docker", "image", "inspect", "arbiter-sandbox:latest"], capture_output=True)
    if probe.returncode != 0:
        message = "docker engine or arbiter-sandbox:latest image missing (scripts/ci-setup.sh, make images)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    instance = f"shutdown-test-{uuid.uuid4().hex[:8]}"
    shutdown_during_a_batch("docker", instance)
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=arbiter.instance={instance}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not left, f"sandbox containers left after shutdown: {left}"
