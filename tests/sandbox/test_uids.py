"""Sandbox uids are leased host-wide: two Arbiter processes on one machine never run programs under the same uid
(RLIMIT_NPROC counts processes per uid across every namespace, so a shared uid lets one instance's programs starve
the other's), and a lease dies with the process that held it."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from sandbox.errors import WorkerStartFailed
from sandbox.uids import UidAllocator

HOLD = """
import sys, time
from sandbox.uids import UidAllocator
a = UidAllocator(int(sys.argv[1]), 1, sys.argv[2])
print(a.acquire(), flush=True)
time.sleep(60)
"""


def test_two_allocators_hand_out_distinct_uids(tmp_path):
    # two pools (two services, or a service and a test run) with the same uid_base
    a, b = UidAllocator(5000, 4, str(tmp_path)), UidAllocator(5000, 4, str(tmp_path))
    got = [a.acquire(), b.acquire(), a.acquire(), b.acquire()]
    assert sorted(got) == [5000, 5001, 5002, 5003]
    with pytest.raises(WorkerStartFailed, match="another Arbiter process"):
        a.acquire()


def test_a_released_uid_can_be_leased_by_another_allocator(tmp_path):
    a, b = UidAllocator(5000, 1, str(tmp_path)), UidAllocator(5000, 1, str(tmp_path))
    uid = a.acquire()
    with pytest.raises(WorkerStartFailed):
        b.acquire()
    a.release(uid)
    assert b.acquire() == uid


def test_a_lease_of_another_process_is_skipped_until_that_process_dies(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, "7000", str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd="."
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "7000"
        mine = UidAllocator(7000, 2, str(tmp_path))
        assert mine.acquire() == 7001  # 7000 is the other process's
        with pytest.raises(WorkerStartFailed):
            mine.acquire()
        holder.send_signal(signal.SIGKILL)  # no clean-up of its own: the kernel drops the lock
        holder.wait(timeout=10)
        assert mine.acquire() == 7000
    finally:
        holder.kill()
        holder.wait(timeout=10)
