"""The one settings object. Every knob of the service is a field here, read from ARBITER_* variables.

Sections are nested models; a section's field is set with ARBITER_<SECTION>_<FIELD>, e.g.
ARBITER_MATH_TIMEOUT_S=2 or ARBITER_SANDBOX_BACKEND=bwrap (only the first underscore after the section
name splits, so field names keep theirs).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _cores() -> int:
    # sched_getaffinity honours CPU pinning (taskset, cgroups cpusets); cpu_count does not.
    return max(1, len(os.sched_getaffinity(0)))


class FormatSettings(BaseModel):
    mode: Literal["strict", "lenient"] = Field(
        "strict",
        description="strict: the R1 template, one think block then one answer block, nothing else around them; "
        "lenient: both blocks once and in order, other text allowed around them.",
    )
    think_tag: str = Field("think", pattern=r"^[A-Za-z][A-Za-z0-9_:-]*$", description="Name of the reasoning tag.")
    answer_tag: str = Field("answer", pattern=r"^[A-Za-z][A-Za-z0-9_:-]*$", description="Name of the answer tag.")


class MathSettings(BaseModel):
    workers: int = Field(default_factory=_cores, ge=1, description="Math verification processes (default: cores).")
    timeout_s: float = Field(
        5.0, gt=0, description="Hard deadline per (gold, answer) verification; the worker is killed past it."
    )
    cache_size: int = Field(
        100_000, ge=0, description="Entries of the LRU cache of verified (gold, answer) pairs; 0 disables it."
    )


class SandboxSettings(BaseModel):
    backend: Literal["auto", "docker", "bwrap"] = Field(
        "auto", description="auto: docker when the engine answers and the image exists, else bwrap."
    )
    workers: int = Field(default_factory=_cores, ge=1, description="Warm sandbox workers (default: cores).")
    jobs_per_worker: int = Field(
        200, ge=1, description="A worker is recycled after this many jobs (and after any fault)."
    )
    queue_timeout_s: float = Field(
        60.0, gt=0, description="How long a job may wait for a free worker before its tests report SE."
    )
    start_timeout_s: float = Field(
        60.0,
        gt=0,
        description="How long start-up waits for the first sandbox worker before code reports sandbox_unavailable.",
    )
    image: str = Field("arbiter-sandbox:latest", description="Docker image of the sandbox workers (make images).")
    instance: str = Field(
        "arbiter", description="Label value naming this service instance; leftovers with it are removed at start-up."
    )
    container_memory_mb: int = Field(1536, ge=64, description="Memory limit of one sandbox container.")
    container_pids: int = Field(256, ge=16, description="Process limit of one sandbox container.")
    container_cpus: float = Field(1.0, gt=0, description="CPU limit of one sandbox container.")
    tmpfs_mb: int = Field(256, ge=16, description="Size of the writable tmpfs of one worker (work dirs).")
    default_cpu_s: float = Field(2.0, gt=0, description="CPU time per test when the item sets none.")
    default_memory_mb: int = Field(256, ge=16, description="Address-space limit per test when the item sets none.")
    max_cpu_s: float = Field(20.0, gt=0, description="Upper bound on an item's own cpu_s limit.")
    max_memory_mb: int = Field(1024, ge=16, description="Upper bound on an item's own memory_mb limit.")
    max_tests: int = Field(
        4096, ge=1, description="Most tests one code item may carry (CodeContests and TACO rows carry hundreds)."
    )
    max_test_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Most bytes of test inputs and outputs (and test code) one code item may carry.",
    )

    @model_validator(mode="after")
    def _test_fits_in_container(self) -> SandboxSettings:
        # A test allowed more memory than its container holds is killed by the container's OOM killer, which
        # reads as a crash (RE), not as MLE: keep room for the largest test, the tmpfs and the executor.
        needed = self.max_memory_mb + self.tmpfs_mb + 128
        if self.container_memory_mb < needed:
            raise ValueError(
                f"container_memory_mb ({self.container_memory_mb}) must be at least max_memory_mb + tmpfs_mb + 128 "
                f"= {needed}: raise ARBITER_SANDBOX_CONTAINER_MEMORY_MB or lower ARBITER_SANDBOX_MAX_MEMORY_MB"
            )
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARBITER_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    host: str = Field("127.0.0.1", description="Address `arbiter serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port `arbiter serve` binds.")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    max_items: int = Field(4096, ge=1, description="Most items in one request; more is a 413.")
    max_completion_chars: int = Field(262_144, ge=1, description="Longest completion accepted; longer is a 413.")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated API keys; when set every route but /healthz needs one."
    )
    max_items_in_flight: int = Field(
        8192,
        ge=1,
        description="Most items being scored at once across requests; past it requests get 429 with Retry-After "
        "at once (no unbounded queue). At least ARBITER_MAX_ITEMS.",
    )
    request_deadline_s: float = Field(
        300.0,
        gt=0,
        description="Overall deadline of one scoring request; components unfinished by then report timeout.",
    )
    retry_after_s: int = Field(
        2, ge=1, description="Retry-After seconds sent with 429 (overloaded) and 503 (not ready / shutting down)."
    )
    shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM, how long requests in flight may take to finish before they are cancelled."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`arbiter serve` log lines: one JSON object per line, or plain text."
    )

    format: FormatSettings = Field(default_factory=FormatSettings)
    math: MathSettings = Field(default_factory=MathSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    @model_validator(mode="after")
    def _in_flight_holds_a_batch(self) -> Settings:
        # Otherwise a full-size batch could never be admitted and would get 429 forever.
        if self.max_items_in_flight < self.max_items:
            raise ValueError(
                f"ARBITER_MAX_ITEMS_IN_FLIGHT ({self.max_items_in_flight}) must be at least ARBITER_MAX_ITEMS "
                f"({self.max_items}); raise the first or lower the second"
            )
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting: the README table and `arbiter settings`."""

    def walk(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str]]:
        rows = []
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                rows += walk(annotation, f"{prefix}{name.upper()}_")
                continue
            if field.default_factory is _cores:
                default = "number of cores"
            elif field.default_factory is list:
                default = "(empty)"
            else:
                default = str(field.get_default(call_default_factory=True))
            rows.append((f"{prefix}{name.upper()}", default, field.description or ""))
        return rows

    return walk(Settings, "ARBITER_")
