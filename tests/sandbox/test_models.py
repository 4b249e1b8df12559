"""The contract's limit objects frame every field they hold (their to_json is written out field by field)."""

from __future__ import annotations

import dataclasses

from sandbox.models import CompileLimits, Job, Limits


def test_limits_frame_every_field() -> None:
    lim = Limits(
        cpu_s=1.5, wall_s=None, memory_mb=128, max_output_bytes=99, max_processes=3, file_size_mb=2, open_files=9
    )
    d = lim.to_json()
    assert set(d) == {f.name for f in dataclasses.fields(Limits)}
    assert d["wall_s"] == lim.effective_wall_s == 4.0  # the executor gets the effective wall cap
    assert Limits.from_json(d) == dataclasses.replace(lim, wall_s=4.0)


def test_compile_limits_frame_every_field() -> None:
    cl = CompileLimits(cpu_s=3.0, wall_s=7.0, memory_mb=512, max_processes=5, file_size_mb=8, open_files=11)
    assert cl.to_json() == dataclasses.asdict(cl)
    job = Job(source="x", compile_limits=cl)
    assert Job.from_json(job.to_json()).compile_limits == cl


def test_child_limits_frame_every_field() -> None:
    """The zygotes' requests carry a child's limits as to_json(); the child rebuilds them with ChildLimits(**d)."""
    from sandbox.executor.limits import ChildLimits

    lim = ChildLimits(
        cpu_s=1.5, memory_mb=300, max_processes=7, file_size_mb=2.0, open_files=40, address_space=False, data_mb=9
    )
    assert lim.to_json() == dataclasses.asdict(lim)
    assert ChildLimits(**lim.to_json()) == lim
