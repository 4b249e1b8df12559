"""Seeding a build's compiler cache from a prebuilt one, cheaply and without letting one job poison another's.

The prebuilt cache (read-only) is copied once per worker into the work root (root-owned files, 0644); each build
then gets a directory tree of its own (owned by the program's uid, so the compiler can add entries) whose files
are hard links to that copy: linking costs no copy, and a program cannot write to a root-owned file, so what it
does to its links stays in its own build.
"""

from __future__ import annotations

import os
import shutil

from .settings import Settings


class CacheSeeder:
    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self._local: dict[str, str] = {}

    def _local_copy(self, seed: str) -> str:
        local = self._local.get(seed)
        if local is None:
            local = os.path.join(self.cfg.workroot, ".seed-" + seed.strip("/").replace("/", "-"))
            if not os.path.isdir(local):
                shutil.copytree(seed, local, symlinks=True)
                for root, dirs, files in os.walk(local):
                    for d in dirs:
                        os.chmod(os.path.join(root, d), 0o755)
                    for f in files:
                        os.chmod(os.path.join(root, f), 0o644)
                os.chmod(local, 0o755)
            self._local[seed] = local
        return local

    def seed(self, seed: str, target: str) -> None:
        """Create target as a tree of links to seed's files (no-op when seed does not exist here)."""
        if not os.path.isdir(seed):
            return
        local = self._local_copy(seed)
        for root, _dirs, files in os.walk(local):
            rel = os.path.relpath(root, local)
            dst = target if rel == "." else os.path.join(target, rel)
            os.mkdir(dst, 0o755)
            if self.cfg.switch_user:
                os.chown(dst, self.cfg.uid, self.cfg.gid)
            for f in files:
                os.link(os.path.join(root, f), os.path.join(dst, f))
