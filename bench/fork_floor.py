"""The floor under every fresh-process-per-test figure on this machine: what a fork costs here, with no sandbox.

Arbiter runs each test in a process of its own, forked from a warm zygote (sandbox/executor/zygote.py), so that
nothing of one test or job survives into the next. This bench measures, on the same machine and in the same run,
what that shape costs with everything else taken away: no namespaces, no rlimits, no supervisor, no framing.

    .venv/bin/python bench/fork_floor.py [--iterations 2000] [--rounds 3]

Rows, each in a fresh lean interpreter (`python3 -I -S`, as the zygote is), once bare and once holding the
zygote's preloaded modules (sandbox/executor/pyharness.PRELOAD, then `gc.freeze()`, as the zygote does), per
iteration:
- fork + _exit: the bare process a test needs, waited for;
- trivial test: a pipe for stdin and one for stdout, the child runs `print(input())` (compiled once, before the
  loop, as the zygote compiles a job's program once) and exits, the parent writes the input, reads the output
  and waits;
- HumanEval shape: two such processes per problem (the candidate and the harness of the assert kind) and one
  plain-data round trip between them through the parent.
Figures are medians over rounds of wall and CPU (parent + children) per iteration, and the most problems/s two
cores could give at that CPU cost. Compare them with bench/code_bench.py's per-test and HumanEval rows: those
include the isolation; these are what is left when it is gone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.executor.pyharness import PRELOAD  # the list only: importing it starts nothing

# Runs in the lean child interpreter; prints one JSON line of per-iteration wall / CPU seconds per row.
PROBE = textwrap.dedent(
    """
    import json, os, sys, time

    N = int(sys.argv[1])
    for name in sys.argv[2:]:  # the zygote's preload list, then frozen, as the zygote does
        try:
            __import__(name)
        except ImportError:
            pass
    if sys.argv[2:]:
        import gc
        gc.collect()
        gc.freeze()
    CODE = compile("print(input())", "<program>", "exec")

    def cpu():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def bare():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

    def child_test():
        r_in, w_in = os.pipe()
        r_out, w_out = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(r_in, 0)
            os.dup2(w_out, 1)
            sys.stdin = open(0, closefd=False)
            sys.stdout = open(1, "w", closefd=False)
            exec(CODE, {"__name__": "__main__"})
            sys.stdout.flush()
            os._exit(0)
        os.close(r_in)
        os.close(w_out)
        os.write(w_in, b"hi\\n")
        os.close(w_in)
        out = os.read(r_out, 64)
        os.close(r_out)
        os.waitpid(pid, 0)
        return out

    def problem():
        # the candidate's answer travels to the harness through the parent, as plain data
        answer = child_test()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            ok = json.loads(os.read(r, 64).decode().strip() or "null") is not None
            os._exit(0 if ok else 1)
        os.close(r)
        os.write(w, json.dumps(answer.decode()).encode())
        os.close(w)
        os.waitpid(pid, 0)

    rows = {}
    for name, fn in (("bare", bare), ("test", child_test), ("problem", problem)):
        for _ in range(50):
            fn()
        w0, c0 = time.perf_counter(), cpu()
        for _ in range(N):
            fn()
        rows[name] = ((time.perf_counter() - w0) / N, (cpu() - c0) / N)
    # VmRSS, not ru_maxrss: Linux carries the peak of the process that exec'ed this one across the exec
    status = open("/proc/self/status").read()
    rows["rss_mb"] = int(status.split("VmRSS:")[1].split()[0]) / 1024
    print(json.dumps(rows))
    """
)

LABELS = {
    "bare": "fork + _exit, waited for",
    "test": "trivial test: fork, stdin/stdout pipes, print(input())",
    "problem": "HumanEval shape: 2 processes + 1 round trip",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    for title, preload in (("lean interpreter", ()), ("with the zygote's preload, frozen", PRELOAD)):
        runs = []
        for _ in range(args.rounds):
            cmd = [sys.executable, "-I", "-S", "-c", PROBE, str(args.iterations), *preload]
            runs.append(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))
        rss = statistics.median(r["rss_mb"] for r in runs)
        print(f"fork floor, {title} ({rss:.0f} MB RSS), {args.iterations} iterations x {args.rounds} rounds")
        print(f"  {'row':<56} {'wall ms':>8} {'CPU ms':>8} {'2-core max/s':>13}")
        for key, label in LABELS.items():
            wall = statistics.median(r[key][0] for r in runs) * 1e3
            cpu = statistics.median(r[key][1] for r in runs) * 1e3
            print(f"  {label:<56} {wall:8.2f} {cpu:8.2f} {2000 / cpu:13.0f}")
    print("targets beside it (issue 17): <= 2 ms per trivial test; >= 400 HumanEval problems/s on 2 cores")


if __name__ == "__main__":
    main()
