"""Hostile programs: each gets its verdict within its limits, nothing outlives its job, and the next job on the
same pool (same worker) still passes."""

from __future__ import annotations

import time

import pytest
from sbx_helpers import HOSTILE, assert_still_healthy, wait_no_leftovers

from sandbox import Limits, RunRequest

pytestmark = pytest.mark.bwrap

ANY_FAIL = {"TLE", "MLE", "RE", "OLE", "WA"}

# name -> (language, source, stdin, expected stdout, allowed verdicts)
HOSTILE_PROGRAMS = {
    "fork_bomb": ("python", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n", "", "", ANY_FAIL),
    "fork_bomb_exit_parent": (
        "python",
        "import os\nfor _ in range(200):\n    try:\n        if os.fork(): break\n"
        "    except OSError: pass\nwhile True: pass\n",
        "",
        "",
        ANY_FAIL | {"AC"},
    ),
    "memory_bomb": ("python", "x = []\nwhile True: x.append(bytearray(10**7))\n", "", "", {"MLE"}),
    "busy_loop": ("python", "while True: pass\n", "", "", {"TLE"}),
    "sleep": ("python", "import time\ntime.sleep(100)\n", "", "", {"TLE"}),
    "output_100mb": ("python", "import sys\nsys.stdout.write('x' * 100_000_000)\n", "", "", {"OLE"}),
    "stderr_flood_then_answer": (
        "python",
        "import sys\nfor _ in range(300): sys.stderr.write('e' * 100000)\nprint('ok')\n",
        "",
        "ok",
        {"AC"},
    ),
    "disk_fill": ("python", "f = open('big', 'wb')\nwhile True: f.write(b'x' * 10**6)\n", "", "", {"OLE", "RE"}),
    "many_small_files": (
        "python",
        "import os\ni=0\nwhile True:\n    open('f%d' % i, 'w').write('x'*4096); i+=1\n",
        "",
        "",
        {"RE", "TLE", "OLE"},
    ),
    "socket_connect": (
        "python",
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=1)\n"
        "    print('connected')\nexcept OSError:\n    print('blocked')\n",
        "",
        "blocked",
        {"AC"},
    ),
    # loopback exists inside the private network namespace (bwrap brings "lo" up) but reaches nothing outside
    "docker_socket": (
        "python",
        "import socket\ntry:\n    s = socket.socket(socket.AF_UNIX)\n"
        "    s.connect('/var/run/docker.sock'); print('connected')\nexcept OSError:\n    print('blocked')\n",
        "",
        "blocked",
        {"AC"},
    ),
    "dns_lookup": (
        "python",
        "import socket\ntry:\n    socket.getaddrinfo('pypi.org', 443); print('resolved')\n"
        "except OSError:\n    print('blocked')\n",
        "",
        "blocked",
        {"AC"},
    ),
    "read_shadow": (
        "python",
        "try:\n    print(open('/etc/shadow').read()[:10])\nexcept OSError:\n    print('blocked')\n",
        "",
        "blocked",
        {"AC"},
    ),
    "read_project_dir": (
        "python",
        "import os\nfound = [p for p in ('/work', '/root', '/home', '/work/main/README.md')"
        " if os.path.exists(p)]\nprint('blocked' if not found else found)\n",
        "",
        "blocked",
        {"AC"},
    ),
    "write_outside_workdir": (
        "python",
        "import os\nok = []\nfor p in ('/tmp/x', '/usr/x', '/opt/arbiter/executor/main.py',"
        " '/etc/passwd', '/x', '/proc/sys/kernel/hostname'):\n    try:\n"
        "        open(p, 'a').write('pwn'); ok.append(p)\n    except OSError: pass\n"
        "print('blocked' if not ok else ok)\n",
        "",
        "blocked",
        {"AC"},
    ),
    "kill_parent": (
        "python",
        "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n"
        "    pass\ntry:\n    os.kill(1, signal.SIGKILL)\nexcept OSError:\n    pass\nprint('alive')\n",
        "",
        "alive",
        {"AC"},
    ),
    "kill_everything": (
        "python",
        "import os, signal\ntry: os.kill(-1, signal.SIGKILL)\nexcept OSError: pass\n",
        "",
        "",
        {"RE", "WA", "AC"},
    ),
    "daemonized_child": (
        "python",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(60)\n        os._exit(0)\n    os._exit(0)\nprint('done')\n",
        "",
        "done",
        {"AC"},
    ),
    "ignores_sigterm": (
        "python",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(100)\n",
        "",
        "",
        {"TLE"},
    ),
    "stdin_flood_unread": ("python", "print('x')\n", "y" * 20_000_000, "x", {"AC"}),
    "setsid_escape_busy": (
        "python",
        "import os\nif os.fork() == 0:\n    os.setsid()\n    while True: pass\nprint('parent done')\n",
        "",
        "parent done",
        {"AC"},
    ),
    "thread_bomb": (
        "python",
        "import threading, time\nts = []\ntry:\n    while True:\n"
        "        t = threading.Thread(target=time.sleep, args=(100,), daemon=True); t.start(); ts.append(t)\n"
        "except Exception:\n    pass\nprint(len(ts) < 1000)\n",
        "",
        "True",
        {"AC", "MLE", "RE", "TLE"},
    ),
    "huge_recursion": (
        "python",
        "import sys\nsys.setrecursionlimit(10**7)\ndef f(n): return f(n + 1) + 1\nf(0)\n",
        "",
        "",
        {"RE", "MLE", "TLE"},
    ),
    "default_recursion": ("python", "def f(n): return f(n + 1)\nf(0)\n", "", "", {"RE"}),
    "many_open_files": (
        "python",
        "fs = []\ntry:\n    while True: fs.append(open('/dev/null'))\nexcept OSError:\n"
        "    pass\nprint(len(fs) < 100)\n",
        "",
        "True",
        {"AC"},
    ),
    "setuid_root": (
        "python",
        "import os\ntry:\n    os.setuid(0); print('root')\nexcept OSError:\n    print('denied')\n",
        "",
        "denied",
        {"AC"},
    ),
    "zombie_children": (
        "python",
        "import os, time\nfor _ in range(10):\n    if os.fork() == 0:\n        time.sleep(30)\n"
        "        os._exit(0)\nprint('ok')\n",
        "",
        "ok",
        {"AC"},
    ),
    "close_stdout_and_spin": ("python", "import os\nos.close(1)\nwhile True: pass\n", "", "", {"TLE"}),
    "chmod_trap": (
        "python",
        "import os\nos.makedirs('a/b/c')\nopen('a/b/c/f', 'w').write('x')\nos.chmod('a/b/c', 0)\n"
        "os.chmod('a/b', 0)\nos.chmod('a', 0)\nprint('ok')\n",
        "",
        "ok",
        {"AC"},
    ),
    "segfault_ctypes": ("python", "import ctypes\nctypes.string_at(0)\n", "", "", {"RE"}),
    "cpp_fork_bomb": ("cpp", "#include <unistd.h>\nint main(){while(true) fork();}\n", "", "", ANY_FAIL),
    "cpp_memory_bomb": (
        "cpp",
        "#include <cstdlib>\n#include <cstring>\nint main(){while(true){char*p=(char*)malloc(1<<24);"
        "if(p) memset(p,1,1<<24);}}\n",
        "",
        "",
        {"MLE", "RE", "TLE"},
    ),
    "cpp_include_shadow": ("cpp", '#include "/etc/shadow"\nint main(){}\n', "", "", {"CE"}),
    "cpp_daemon": (
        "cpp",
        "#include <unistd.h>\n#include <cstdio>\nint main(){if(fork()==0){setsid();if(fork()==0)"
        '{sleep(60);} return 0;} puts("done");}\n',
        "",
        "done",
        {"AC"},
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PROGRAMS))
async def test_hostile_program(pool, backend_name, name):
    language, source, stdin, expected, allowed = HOSTILE_PROGRAMS[name]
    t0 = time.monotonic()
    r = await pool.run(
        RunRequest(
            source=source, language=language, kind="stdio", inputs=(stdin,), expected=(expected,), limits=HOSTILE
        )
    )
    elapsed = time.monotonic() - t0
    assert r.verdicts[0] in allowed, (name, r)
    assert r.verdicts[0] != "SE", r
    budget = HOSTILE.effective_wall_s + 3 + (20 if language == "cpp" else 0)
    assert elapsed < budget, f"{name} took {elapsed:.1f}s"
    left = wait_no_leftovers(backend_name)
    assert not left, f"{name} left processes behind: {left}"
    await assert_still_healthy(pool)
    assert pool.stats().recycled == 0 or name.startswith(("fork", "cpp_fork")), pool.stats()


async def test_shadow_content_not_in_compile_output(pool):
    r = await pool.run(RunRequest.stdio('#include "/etc/shadow"\nint main(){}\n', [""], [""], language="cpp"))
    assert r.verdicts == ["CE"]
    assert "root:" not in r.compile_output


async def test_files_do_not_persist_between_tests(pool):
    src = (
        "import os\nfound = [p for p in ('leak', '/dev/shm/leak', '/tmp/leak') if os.path.exists(p)]\n"
        "print(found)\nfor p in ('leak', '/dev/shm/leak', '/tmp/leak'):\n    try: open(p, 'w').write('1')\n"
        "    except OSError: pass\n"
    )
    r = await pool.run(RunRequest.stdio(src, ["", ""], ["[]", "[]"]))
    assert r.verdicts == ["AC", "AC"], r
    r = await pool.run(RunRequest.stdio(src, [""], ["[]"]))
    assert r.verdicts == ["AC"], r


async def test_workers_are_isolated_from_each_other(pool_factory):
    pool = await pool_factory(2)
    src = "import os\nprint(sorted(p for p in os.listdir('/proc') if p.isdigit()))\n"
    r = await pool.run(RunRequest.stdio(src, [""], [""], limits=Limits(cpu_s=1)))
    pids = eval(r.tests[0].stdout)
    # a private pid namespace: bwrap init (or none: the executor is pid 1 in a container), the executor, its zygote
    # and the spare that one forked ahead (zygote.py), its harness zygote and the spare harness that one forked
    # ahead (harness_zygote.py), the program; another worker's processes would show here too
    assert len(pids) <= 7, pids
