"""Settings: nested sections from ARBITER_* variables, and a README that documents every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings, describe_settings

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
