"""`pip install ./client` into an empty venv gives a working client that pulls in nothing of the server.

Slow-ish (a venv and a pip install that reaches the package index for httpx and the build backend), bounded by
timeouts so that a stuck index fails the test instead of hanging the suite.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every module of the package is imported (found by walking it, so that a new adapter is covered without editing
# this list), then nothing of the server may be loaded.
PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    import arbiter_client
    names = sorted(m.name for m in pkgutil.walk_packages(arbiter_client.__path__, "arbiter_client."))
    # Modules that live inside a runtime the package does not depend on: verl's reward-loop manager subclasses
    # verl's base class, the Ray handle client calls Ray Serve. Without it each says what it needs.
    plugins = {"arbiter_client.adapters.verl_manager": "needs verl", "arbiter_client.ray_handle": "needs ray"}
    for name in names:
        if name in plugins:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                assert plugins[name] in str(exc), exc
            else:
                raise AssertionError(name + " imported without its runtime")
        else:
            importlib.import_module(name)
    adapters = {"arbiter_client.adapters." + t for t in ("trl", "verl", "openrlhf", "slime")}
    assert adapters <= set(names), sorted(adapters - set(names))
    forbidden = ("fastapi", "starlette", "sympy", "docker", "app", "sandbox", "pydantic", "torch")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
    assert not loaded, loaded
    print(arbiter_client.__file__)
    print(len(names))
    """
)


@pytest.mark.slow
def test_pip_install_client_into_an_empty_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # From a copy: a non-editable install builds in the source folder (build/, *.egg-info), not in the repository.
    source = shutil.copytree(ROOT / "client", tmp_path / "client", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        check=True,
        timeout=300,
    )
    # Run outside the repository, so that neither the source tree nor the server's packages are importable by
    # accident from the working directory.
    done = subprocess.run(
        [str(python), "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    installed_at, n_modules = done.stdout.split()
    assert installed_at.startswith(str(venv)), installed_at  # the installed copy, not the source tree
    assert int(n_modules) >= 9
    # The package really installs nothing else: pip lists httpx and its own dependencies only.
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    names = {line.split("==")[0].lower() for line in listed.split()}
    assert {"arbiter-client", "httpx"} <= names
    assert not names & {"fastapi", "starlette", "sympy", "docker", "latex2sympy2", "pydantic", "arbiter"}, names
