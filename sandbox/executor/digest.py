"""sha256 of the executor package: what the sandbox image records (label arbiter.executor.sha256) and what the
Docker backend compares against, so that an image built from other executor files never runs tests.

Run as a script by scripts/build-images.sh: `python3 sandbox/executor/digest.py` prints the digest."""

from __future__ import annotations

import hashlib
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def package_files(root: str = PACKAGE_DIR) -> list[str]:
    """The package's source files, as sorted paths relative to root (bytecode caches excluded)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            if name.endswith(".py"):
                found.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    return sorted(found)


def package_sha256(root: str = PACKAGE_DIR) -> str:
    h = hashlib.sha256()
    for rel in package_files(root):
        with open(os.path.join(root, rel), "rb") as f:
            data = f.read()
        # name and length framed, so that moving bytes between files changes the digest
        h.update(b"%s\0%d\0" % (rel.encode(), len(data)))
        h.update(data)
    return h.hexdigest()


if __name__ == "__main__":
    print(package_sha256(sys.argv[1] if len(sys.argv) > 1 else PACKAGE_DIR))
