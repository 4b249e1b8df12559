"""What a language module declares. One subclass per language, one module per subclass (languages/<name>.py):
everything the executor needs to know about a language lives there and nowhere else."""

from __future__ import annotations

import os
from typing import ClassVar

from ..kinds.base import TestKind
from ..settings import Settings


class Language:
    #: the name used in requests (reference.language) and in the registry
    name: ClassVar[str]
    #: the file the program's source is written to (some compilers care: Java's public class, Go's package)
    source_name: ClassVar[str]
    #: test kinds this language runs
    kinds: ClassVar[frozenset[TestKind]] = frozenset({"stdio"})
    #: compiled once per job before any test runs (compile errors are CE for every test)
    compiled: ClassVar[bool] = False
    #: apply the memory limit as RLIMIT_AS; False for runtimes that reserve far more address space than they use
    #: (they get the limit through their own flags, see run_env / run_argv, and the container's cgroup)
    address_space_limit: ClassVar[bool] = True
    #: raise RLIMIT_STACK for deep recursion (compiled programs)
    big_stack: ClassVar[bool] = False
    #: what the runtime prints on stderr when an allocation fails and it exits with a plain error status
    oom_markers: ClassVar[tuple[str, ...]] = ()

    def source_path(self, jobdir: str) -> str:
        return os.path.join(jobdir, self.source_name)

    def compile_argv(self, src: str, build_dir: str) -> list[str]:
        """The compiler's command line; build_dir is the (writable) output directory."""
        raise NotImplementedError(f"{self.name} is not compiled")

    def run_argv(self, src: str, build_dir: str, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        """The command that runs the built program, or None to run it in the warm Python interpreter."""
        raise NotImplementedError

    def run_env(self, cwd: str, memory_mb: int) -> dict[str, str]:
        """Environment variables the program's runtime needs beyond the executor's base environment."""
        return {}

    def compile_env(self, build_dir: str) -> dict[str, str]:
        return {}
