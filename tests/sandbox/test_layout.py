"""The executor package's contract with the boundary: stdlib only, one digest over exactly its source files, and
one owner each for verdicts, test kinds and languages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox
from sandbox.executor import digest
from sandbox.executor.verdicts import VERDICT_PRIORITY, Finished, Verdict, classify

EXECUTOR = Path(digest.PACKAGE_DIR)


def test_executor_imports_only_the_standard_library():
    # Run as the boundary runs it: an isolated interpreter that sees the package by its folder name only.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import executor.main\n"
        "import sysconfig; std = sysconfig.get_paths()['stdlib']\n"
        "bad = sorted(n for n, m in sys.modules.items() if getattr(m, '__file__', None)\n"
        "             and not m.__file__.startswith((std, sys.argv[1])))\n"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(EXECUTOR.parent)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out


def test_digest_covers_every_source_file_and_no_cache(tmp_path):
    copy = tmp_path / "executor"
    shutil.copytree(EXECUTOR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = digest.package_sha256(str(copy))
    assert base == digest.package_sha256()
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    assert digest.package_sha256(str(copy)) == base  # bytecode never changes the digest
    target = copy / "languages" / "cpp.py"
    target.write_text(target.read_text() + "\n# edited\n")
    assert digest.package_sha256(str(copy)) != base  # an edit of any module does


def test_script_mode_prints_the_same_digest():
    out = subprocess.run([sys.executable, str(EXECUTOR / "digest.py")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == digest.package_sha256()


def _finished(**kw) -> Finished:
    base = dict(
        pid=1,
        status=0,
        cpu_s=0.1,
        wall_s=0.1,
        stdout=b"",
        stderr=b"",
        result=b"",
        ole=False,
        truncated=False,
        killed_wall=False,
        maxrss_mb=10.0,
    )
    base.update(kw)
    return Finished(**base)


@pytest.mark.parametrize(
    "kw,expected",
    [
        ({}, "OK"),
        ({"status": 1 << 8}, Verdict.RE),
        ({"status": 1 << 8, "stderr": b"MemoryError\n"}, Verdict.MLE),
        ({"status": 9, "maxrss_mb": 250.0}, Verdict.MLE),  # SIGKILL near the memory limit
        ({"status": 9, "cpu_s": 2.0}, Verdict.TLE),
        ({"killed_wall": True, "ole": True}, Verdict.OLE),  # OLE outranks TLE
        ({"killed_wall": True, "status": 1 << 8, "stderr": b"MemoryError"}, Verdict.TLE),  # TLE outranks MLE
        ({"ole": True, "setup_error": "cannot start"}, Verdict.SE),  # the boundary's fault outranks everything
    ],
)
def test_verdict_priority(kw, expected):
    assert classify(_finished(**kw), cpu_limit_s=2.0, memory_mb=256, oom_markers=("MemoryError",)) == expected


def test_one_vocabulary():
    assert VERDICT_PRIORITY == (Verdict.SE, Verdict.OLE, Verdict.TLE, Verdict.MLE, Verdict.RE)
    assert tuple(Verdict) == sandbox.VERDICTS
    assert set(sandbox.LANGUAGES) >= {"python", "cpp"}
    assert sandbox.LANGUAGES["python"].kinds == frozenset(sandbox.TEST_KINDS)
