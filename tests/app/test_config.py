"""Settings: nested sections from ARBITER_* variables, and a README that documents every one of them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.config import SandboxSettings, Settings, describe_settings
from app.sandbox_runtime import bwrap_config, docker_config, pool_config
from sandbox import Limits, PoolConfig
from sandbox.backends.bwrap import BwrapConfig
from sandbox.backends.docker import DockerConfig

README = Path(__file__).resolve().parents[2] / "README.md"


def test_sections_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_MATH_TIMEOUT_S", "2.5")
    monkeypatch.setenv("ARBITER_SANDBOX_BACKEND", "bwrap")
    monkeypatch.setenv("ARBITER_SANDBOX_JOBS_PER_WORKER", "7")
    monkeypatch.setenv("ARBITER_FORMAT_MODE", "lenient")
    monkeypatch.setenv("ARBITER_API_KEYS", " k1, k2 ,,")
    settings = Settings()
    assert settings.math.timeout_s == 2.5
    assert settings.sandbox.backend == "bwrap"
    assert settings.sandbox.jobs_per_worker == 7
    assert settings.format.mode == "lenient"
    assert settings.api_keys == ["k1", "k2"]


def test_invalid_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_SANDBOX_BACKEND", "chroot")
    with pytest.raises(ValueError, match="backend"):
        Settings()


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    missing = [env for env, _, _ in describe_settings() if f"`{env}`" not in text]
    assert not missing, f"README lacks {missing}; paste the output of `arbiter settings`"


def test_largest_test_must_fit_in_its_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_SANDBOX_MAX_MEMORY_MB", "4096")
    with pytest.raises(ValueError, match="ARBITER_SANDBOX_CONTAINER_MEMORY_MB"):
        Settings()
    monkeypatch.setenv("ARBITER_SANDBOX_CONTAINER_MEMORY_MB", "4600")
    assert Settings().sandbox.max_memory_mb == 4096


def test_sandbox_defaults_are_the_sandbox_configs_own() -> None:
    """Default settings build the sandbox's configs with the sandbox's own defaults, but for the documented
    exceptions: the service's instance label, a container large enough for ARBITER_SANDBOX_MAX_MEMORY_MB, and
    one tmpfs size for both backends."""
    settings = SandboxSettings()
    assert pool_config(settings) == PoolConfig()
    assert docker_config(settings) == replace(DockerConfig(), instance="arbiter", memory_mb=1536)
    assert bwrap_config(settings) == replace(BwrapConfig(), tmpfs_mb=DockerConfig().tmpfs_mb)
    assert (settings.default_cpu_s, settings.default_memory_mb) == (Limits().cpu_s, Limits().memory_mb)
