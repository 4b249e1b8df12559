"""Built programs as bytes: the executor's half of the build cache (the service's half is sandbox/build_cache.py).

After a successful compile the executor reads what the compiler produced (the build directory's regular files,
the compiler's own cache excepted) and sends it to the service in a "build" frame, before any test has run: at
that moment the compiler was the only process of the program's uid and it has been killed, so no program can
have written what is sent. A later job with the same program gets those bytes back inside its job frame; the
executor writes them, as its own files, into the job's fresh build directory and runs no compiler.

Every build has a key that the executor computes itself from what it would compile: the language, the test kind,
the files it wrote (the program and any harness), the compiler's command line and environment (its flags) with
the job's directories replaced by placeholders, and the identity of the toolchain (real path, size and mtime of
the compiler and of what the build reads besides the program). The service sends an artifact together with the
key it was built under; the executor uses it only when that key is the one it computes now, so an artifact never
runs under another toolchain, another flag set or another harness version (the executor compiles instead).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from typing import Any

from .languages.base import Build, Language

#: bumped when the meaning of a key or the layout of an artifact changes
FORMAT = 1


def toolchain_identity(paths: tuple[str, ...]) -> list[Any]:
    """What identifies the installed toolchain without running it: a stat per path (cheap, per build)."""
    out: list[Any] = []
    for path in paths:
        try:
            real = os.path.realpath(path)
            st = os.stat(real)
        except OSError:
            out.append([path, None])
            continue
        out.append([real, st.st_size, st.st_mtime_ns])
    return out


def build_key(lang: Language, kind: str, build: Build, argv: list[str], env: dict[str, str]) -> str:
    """The key of a build: equal keys compile the same files with the same command and the same toolchain."""

    def generic(text: str) -> str:
        return text.replace(build.build_dir, "<build>").replace(build.src_dir, "<src>")

    h = hashlib.sha256()
    head = {
        "format": FORMAT,
        "language": lang.name,
        "kind": kind,
        "argv": [generic(a) for a in argv],
        "env": {k: generic(v) for k, v in sorted(env.items())},
        "entry": generic(build.entry),
        "toolchain": toolchain_identity(lang.identity_paths or (lang.toolchain,)),
    }
    h.update(json.dumps(head, sort_keys=True).encode())
    for name in build.files:
        with open(os.path.join(build.src_dir, name), "rb") as f:
            data = f.read()
        h.update(b"\0%s\0%d\0" % (name.encode("utf-8", "surrogatepass"), len(data)))
        h.update(data)
    return h.hexdigest()


def collect(build_dir: str, skip: str, max_bytes: int) -> list[dict[str, Any]] | None:
    """The regular files under build_dir (not under skip, the compiler's cache), or None past max_bytes.

    Symbolic links and other special files are not followed nor sent: only what the compiler wrote as files."""
    files: list[dict[str, Any]] = []
    total = 0
    for root, dirs, names in os.walk(build_dir):
        if root == build_dir and skip:
            dirs[:] = [d for d in dirs if d != skip]
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    continue
                total += st.st_size
                if total > max_bytes:
                    return None
                with os.fdopen(os.dup(fd), "rb") as f:
                    data = f.read(max_bytes + 1)
            finally:
                os.close(fd)
            files.append(
                {
                    "path": os.path.relpath(path, build_dir),
                    "mode": 0o755 if st.st_mode & stat.S_IXUSR else 0o644,
                    "data": base64.b64encode(data).decode("ascii"),
                }
            )
    return files


def install(build_dir: str, files: list[dict[str, Any]]) -> None:
    """Write an artifact's files into build_dir (which the executor owns: programs cannot change them).

    Raises ValueError for a malformed artifact (a path leaving build_dir): the caller compiles instead."""
    for entry in files:
        rel = str(entry["path"])
        norm = os.path.normpath(rel)
        if os.path.isabs(norm) or norm.startswith("..") or norm in (".", ""):
            raise ValueError("artifact path %r leaves the build directory" % rel)
        data = base64.b64decode(entry["data"], validate=True)
        mode = 0o755 if int(entry.get("mode", 0o644)) & 0o100 else 0o644
        path = os.path.join(build_dir, norm)
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
