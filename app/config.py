"""The one settings object. Every knob of the service is a field here, read from ARBITER_* variables.

Sections are nested models; a section's field is set with ARBITER_<SECTION>_<FIELD>, e.g.
ARBITER_MATH_TIMEOUT_S=2 or ARBITER_SANDBOX_BACKEND=bwrap (only the first underscore after the section
name splits, so field names keep theirs).

Sandbox settings take their defaults from the sandbox's own config dataclasses (PoolConfig, DockerConfig,
Limits), so the service and the sandbox library cannot drift apart; the few that differ say why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sandbox import Limits, PoolConfig
from sandbox.backends.docker import DockerConfig


def _sandbox_field(config: type[Any], name: str) -> dataclasses.Field[Any]:
    for f in dataclasses.fields(config):
        if f.name == name:
            return f
    raise AttributeError(f"{config.__name__} has no field {name!r}")


def _sandbox_default(config: type[Any], name: str) -> Any:
    """The default of a field of one of the sandbox's config dataclasses."""
    default = _sandbox_field(config, name).default
    if default is dataclasses.MISSING:
        raise TypeError(f"{config.__name__}.{name} has no plain default")
    return default


#: The sandbox pool's default size: the cores this process may run on (honours CPU pinning), for math too.
_cores: Callable[[], int] = _sandbox_field(PoolConfig, "size").default_factory  # type: ignore[assignment]


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
    worker_max_items: int = Field(
        # 50,000: a fresh worker costs ~2.5 s of CPU (imports, warm-up); at 5,000 the now cheap items made that a
        # recycle every few seconds under full load. Memory growth is bounded by worker_max_rss_mb either way.
        50_000,
        ge=0,
        description="A math worker is recycled after verifying this many items (0: never).",
    )
    worker_max_rss_mb: int = Field(
        400, ge=0, description="A math worker is recycled once its resident memory passes this many MB (0: never)."
    )


class SandboxSettings(BaseModel):
    backend: Literal["auto", "docker", "bwrap"] = Field(
        "auto", description="auto: docker when the engine answers and the image exists, else bwrap."
    )
    workers: int = Field(default_factory=_cores, ge=1, description="Warm sandbox workers (default: cores).")
    jobs_per_worker: int = Field(
        _sandbox_default(PoolConfig, "max_jobs_per_worker"),
        ge=1,
        description="A worker is recycled after this many jobs (and after any fault).",
    )
    queue_timeout_s: float = Field(
        _sandbox_default(PoolConfig, "acquire_timeout_s"),
        gt=0,
        description="How long a job may wait for a free worker before its tests report SE.",
    )
    start_timeout_s: float = Field(
        _sandbox_default(PoolConfig, "start_timeout_s"),
        gt=0,
        description="How long start-up waits for the first sandbox worker before code reports sandbox_unavailable.",
    )
    image: str = Field(
        _sandbox_default(DockerConfig, "image"), description="Docker image of the sandbox workers (make images)."
    )
    # Not the sandbox's "default": a service must not remove (as leftovers) the containers of a sandbox pool that
    # a benchmark or test suite runs on the same engine, nor they the service's.
    instance: str = Field(
        "arbiter", description="Label value naming this service instance; leftovers with it are removed at start-up."
    )
    # Larger than the sandbox's 1024: the service lets an item ask for up to max_memory_mb per test, and the
    # container must hold that, the tmpfs and the executor (checked below).
    container_memory_mb: int = Field(1536, ge=64, description="Memory limit of one sandbox container.")
    container_pids: int = Field(
        _sandbox_default(DockerConfig, "pids_limit"), ge=16, description="Process limit of one sandbox container."
    )
    container_cpus: float = Field(
        _sandbox_default(DockerConfig, "cpus"), gt=0, description="CPU limit of one sandbox container."
    )
    tmpfs_mb: int = Field(
        _sandbox_default(DockerConfig, "tmpfs_mb"),
        ge=16,
        description="Size of the writable tmpfs of one worker (work dirs).",
    )
    default_cpu_s: float = Field(
        _sandbox_default(Limits, "cpu_s"), gt=0, description="CPU time per test when the item sets none."
    )
    default_memory_mb: int = Field(
        _sandbox_default(Limits, "memory_mb"),
        ge=16,
        description="Address-space limit per test when the item sets none.",
    )
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
    cpu_multipliers: dict[str, float] = Field(
        default_factory=dict,
        description='Per-language CPU-time multipliers applied to cpu_s, e.g. {"java": 2.5} (JSON); a language '
        "not listed uses the sandbox's default (java 2, others 1).",
    )

    build_cache_mb: int = Field(
        _sandbox_default(PoolConfig, "build_cache_bytes") >> 20,
        ge=0,
        description="Memory for built programs kept across requests (compiled once per program, toolchain and "
        "flags; the same program again skips its compiler); 0 turns the build cache off.",
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
    max_request_bytes: int = Field(
        64 * 2**20,
        ge=1024,
        description="Largest request body in bytes; larger is a 413, before the body is read when Content-Length "
        "says so, else as soon as the streamed body passes it.",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated API keys; when set every route but /healthz needs one."
    )
    max_items_in_flight: int = Field(
        8192,
        ge=1,
        description="Most items being scored at once across requests; past it a request waits at most "
        "ARBITER_ADMISSION_WAIT_S for a slot (no unbounded queue), then gets 429 with Retry-After. At least "
        "ARBITER_MAX_ITEMS.",
    )
    max_bytes_in_flight: int = Field(
        256 * 2**20,
        ge=1024,
        description="Most request-body bytes being read or scored at once across requests (a parsed body holds a "
        "few times its bytes); past it requests get 429 with Retry-After. At least ARBITER_MAX_REQUEST_BYTES.",
    )
    request_deadline_s: float = Field(
        300.0,
        gt=0,
        description="Overall deadline of one scoring request; components unfinished by then report timeout.",
    )
    admission_wait_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How long a scoring request that finds the service full (ARBITER_MAX_ITEMS_IN_FLIGHT) waits "
        "for a slot, in arrival order and before its body is read, before it gets 429; its Retry-After is then "
        "the time the queue takes to drain. 0: a 429 at once.",
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
        if self.max_bytes_in_flight < self.max_request_bytes:
            raise ValueError(
                f"ARBITER_MAX_BYTES_IN_FLIGHT ({self.max_bytes_in_flight}) must be at least ARBITER_MAX_REQUEST_BYTES "
                f"({self.max_request_bytes}); raise the first or lower the second"
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
