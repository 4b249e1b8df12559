"""The build cache (sandbox/build_cache.py, sandbox/executor/artifacts.py): a program compiles once, across the
jobs of a batch (single flight) and across requests (the cache), and a cached build judges as a fresh one does.

Compiles are counted from the executor's replies (RunResult.compiles / cached_builds, PoolStats.compiles)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sandbox import Limits, RunRequest
from sandbox.build_cache import BuildCache, CachedBuild, service_key
from sandbox.models import Job

CPP = (
    "#include <iostream>\n#include <cstdlib>\n"
    "int main(){long long a,b;std::cin>>a>>b;\n"
    " if(a<0){volatile unsigned long x=0;for(;;)x++;}\n"  # TLE on a negative input
    " if(a==0) std::abort();\n"  # RE on zero
    ' std::cout<<a+b<<"\\n";}\n'
)
JAVA = (
    "import java.util.*;\nclass Adder { static class Pair { long a, b; }\n"
    " public static void main(String[] x){ Scanner s=new Scanner(System.in); Pair p=new Pair();"
    " p.a=s.nextLong(); p.b=s.nextLong(); System.out.println(p.a+p.b); } }\n"
)
CPP_ASSERT_PROGRAM = "#include <vector>\nint add(int a, int b) { return a + b; }\n"
CPP_ASSERT_TEST = "#undef NDEBUG\n#include <assert.h>\nint main() { assert(add(2, 3) == 5); }\n"
LIMITS = Limits(cpu_s=1.0, memory_mb=256)


def _sum(source: str, a: int, b: int, language: str = "cpp", expected: int | None = None) -> RunRequest:
    want = a + b if expected is None else expected
    return RunRequest.stdio(source, [f"{a} {b}\n"], [f"{want}\n"], language=language, limits=LIMITS)


# ------------------------------------------------------------------------------------------------ on a backend
async def test_grpo_group_of_identical_cpp_programs_compiles_once(pool_factory) -> None:
    pool = await pool_factory(2)
    # one prompt, eight identical completions, each judged on its own test (different jobs, same program)
    results = await asyncio.gather(*(pool.run(_sum(CPP, i + 1, 10)) for i in range(8)))
    assert [r.verdicts for r in results] == [["AC"]] * 8
    assert sum(r.compiles for r in results) == 1
    assert sum(r.cached_builds for r in results) == 7
    stats = pool.stats()
    assert (stats.compiles, stats.build_cache_hits, stats.build_cache_shared) == (1, 7, 7)


async def test_repeated_program_across_requests_is_served_from_the_cache(pool) -> None:
    first = await pool.run(_sum(CPP, 2, 3))
    again = await pool.run(_sum(CPP, 20, 30))  # a later request: same program, other tests
    assert (first.verdicts, first.compiles, first.cached_builds) == (["AC"], 1, 0)
    assert (again.verdicts, again.compiles, again.cached_builds) == (["AC"], 0, 1)
    other = await pool.run(_sum(CPP.replace("a+b", "b+a"), 1, 1))  # another program compiles
    assert (other.verdicts, other.compiles) == (["AC"], 1)


async def test_cached_build_judges_as_a_fresh_compile(pool_factory) -> None:
    fresh_pool = await pool_factory(1, build_cache_bytes=0)  # no cache: every job compiles
    cached_pool = await pool_factory(1)
    inputs = ["2 3\n", "4 4\n", "0 1\n", "-1 1\n"]  # AC, WA (expects 9), RE, TLE
    request = RunRequest.stdio(CPP, inputs, ["5\n", "9\n", "1\n", "0\n"], language="cpp", limits=LIMITS)
    fresh = await fresh_pool.run(request)
    await cached_pool.run(dataclasses.replace(request, inputs=inputs[:1], expected=["5\n"]))
    cached = await cached_pool.run(request)
    assert fresh.verdicts == ["AC", "WA", "RE", "TLE"]
    assert (fresh.compiles, fresh.cached_builds) == (1, 0)
    assert cached.verdicts == fresh.verdicts
    assert (cached.compiles, cached.cached_builds) == (0, 1)
    assert [t.stdout for t in cached.tests] == [t.stdout for t in fresh.tests]
    # a compile error is cached too: the same CE and message without running the compiler again
    broken = _sum(CPP.replace("int main", "int mian"), 1, 2)
    ce_fresh = await fresh_pool.run(broken)
    ce_first = await cached_pool.run(broken)
    ce_cached = await cached_pool.run(broken)
    assert ce_fresh.verdicts == ce_first.verdicts == ce_cached.verdicts == ["CE"]
    assert (ce_cached.compiles, ce_cached.cached_builds) == (0, 1)
    assert ce_cached.compile_output == ce_first.compile_output and "main" in ce_cached.compile_output


async def test_java_build_of_several_class_files_is_cached(pool) -> None:
    first = await pool.run(_sum(JAVA, 2, 3, "java"))
    again = await pool.run(_sum(JAVA, 5, 7, "java"))
    wrong = await pool.run(_sum(JAVA, 5, 7, "java", expected=13))
    assert (first.verdicts, again.verdicts, wrong.verdicts) == (["AC"], ["AC"], ["WA"])
    assert (first.compiles, again.compiles, again.cached_builds, wrong.cached_builds) == (1, 0, 1, 1)
    [entry] = [e for e in pool.builds._lru.values()]
    assert sorted(f["path"] for f in entry.files or ()) == ["Adder$Pair.class", "Adder.class"]


async def test_assert_builds_are_cached_per_test_code(pool) -> None:
    req = RunRequest.assert_based(CPP_ASSERT_PROGRAM, CPP_ASSERT_TEST, "", language="cpp", limits=LIMITS)
    first, again = await pool.run(req), await pool.run(req)
    wrong = await pool.run(dataclasses.replace(req, inputs=(CPP_ASSERT_TEST.replace("5", "6"),)))
    assert (first.verdicts, first.compiles) == (["AC"], 1)
    assert (again.verdicts, again.compiles, again.cached_builds) == (["AC"], 0, 1)
    assert (wrong.verdicts, wrong.compiles) == (["RE"], 1)  # other test code: another build


async def test_executor_compiles_when_the_sent_build_does_not_match(pool) -> None:
    await pool.run(_sum(CPP, 2, 3))
    [(skey, entry)] = list(pool.builds._lru.items())
    # built under another key (another toolchain, flags or harness): the executor ignores it
    pool.builds._lru[skey] = dataclasses.replace(entry, key="0" * 64)
    other_key = await pool.run(_sum(CPP, 4, 5))
    assert (other_key.verdicts, other_key.compiles, other_key.cached_builds) == (["AC"], 1, 0)
    # a malformed artifact under the right key (a path out of its build directory): compiled instead
    entry = pool.builds._lru[skey]
    bad = [{**f, "path": "../../" + f["path"]} for f in entry.files or ()]
    pool.builds._lru[skey] = dataclasses.replace(entry, files=tuple(bad))
    malformed = await pool.run(_sum(CPP, 6, 7))
    assert (malformed.verdicts, malformed.compiles, malformed.cached_builds) == (["AC"], 1, 0)


async def test_cache_stays_within_its_bytes(pool) -> None:
    await pool.run(_sum(CPP, 1, 1))
    one = pool.builds.stats.bytes
    assert one > 1000  # a real binary came back
    pool.builds = BuildCache(max_bytes=2 * one + one // 2, max_entry_bytes=2 * one)  # room for two builds
    programs = [CPP.replace("a+b", "a+b+%d-%d" % (i, i)) for i in range(3)]
    for src in programs:
        assert (await pool.run(_sum(src, 1, 1))).compiles == 1
    assert pool.builds.stats.entries == 2 and pool.builds.stats.evicted == 1
    assert pool.builds.stats.bytes <= pool.builds.max_bytes
    assert (await pool.run(_sum(programs[2], 2, 2))).cached_builds == 1  # most recent: kept
    assert (await pool.run(_sum(programs[0], 2, 2))).compiles == 1  # least recent: evicted


# Assert tests (HumanEval-X shape) of one job: one build for all of them where the language allows it.
ASSERTS = {
    "cpp": (
        "#include <cstdlib>\nint add(int a, int b) { if (a < 0) std::exit(0); return a + b; }\n",
        [
            # both tests define issame: each test is in a namespace of its own
            "#undef NDEBUG\n#include <assert.h>\nbool issame(int a,int b){return a==b;}\nint main(){assert(issame(add(2,3),5));}\n",
            "#undef NDEBUG\n#include <assert.h>\nbool issame(int a,int b){return a==b;}\nint main(){assert(issame(add(2,3),6));}\n",
            "#include <assert.h>\nint main(){ assert(add(-1, 1) == 0); }\n",  # the program exits 0 early: WA
        ],
        ["AC", "RE", "WA"],
    ),
    "c": (
        "#include <stdlib.h>\nint add(int a, int b) { if (a < 0) exit(0); return a + b; }\n",
        [
            "#include <assert.h>\nint main(void){ assert(add(2, 3) == 5); return 0; }\n",
            "#include <assert.h>\nint main(void){ assert(add(2, 3) == 6); return 0; }\n",
            "#include <assert.h>\nint main(void){ assert(add(-1, 1) == 0); return 0; }\n",
        ],
        ["AC", "RE", "WA"],
    ),
    "rust": (
        "fn add(a: i32, b: i32) -> i32 { if a < 0 { std::process::exit(0); } a + b }\nfn main() {}\n",
        [
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { assert_eq!(add(2, 3), 5); }\n}\n",
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { assert_eq!(add(2, 3), 6); }\n}\n",
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { assert_eq!(add(-1, 1), 0); }\n}\n",
        ],
        ["AC", "RE", "WA"],
    ),
    "go": (
        'package main\nimport "os"\nfunc Add(a, b int) int { if a < 0 { os.Exit(0) }; return a + b }\n',
        [
            'package main\nimport (\n "testing"\n "github.com/stretchr/testify/assert"\n)\n'
            "func TestAdd(t *testing.T) { assert := assert.New(t); assert.Equal(5, Add(2, 3)) }\n",
            'package main\nimport (\n "testing"\n "github.com/stretchr/testify/assert"\n)\n'
            "func TestAdd(t *testing.T) { assert := assert.New(t); assert.Equal(6, Add(2, 3)) }\n",
            'package main\nimport "testing"\nfunc TestAdd(t *testing.T) { if Add(-1, 1) != 0 { t.Fail() } }\n',
        ],
        ["AC", "RE", "RE"],  # os.Exit(0) inside a test fails it (-test.paniconexit0)
    ),
}


@pytest.mark.parametrize("language", list(ASSERTS))
async def test_assert_tests_of_one_job_compile_once(pool, language: str) -> None:
    source, tests, verdicts = ASSERTS[language]
    limits = Limits(cpu_s=2.0, memory_mb=512)
    together = await pool.run(RunRequest.assert_based(source, tests, "", language=language, limits=limits))
    assert together.verdicts == verdicts, together
    assert (together.compiles, together.cached_builds) == (1, 0)
    # the same verdicts as each test built on its own
    alone = [await pool.run(RunRequest.assert_based(source, t, "", language=language, limits=limits)) for t in tests]
    assert [r.verdicts[0] for r in alone] == verdicts
    again = await pool.run(RunRequest.assert_based(source, tests, "", language=language, limits=limits))
    assert (again.verdicts, again.compiles, again.cached_builds) == (verdicts, 0, 1)


async def test_tests_that_clash_in_one_build_are_built_one_by_one(pool) -> None:
    # C has no namespaces: two tests defining the same helper do not compile together, each compiles alone
    helper = "#include <assert.h>\nstatic int same(int a, int b) { return a == b; }\n"
    tests = [helper + "int main(void){ assert(same(1 + 1, 2)); return 0; }\n", helper + "int main(void){ return 1; }\n"]
    r = await pool.run(RunRequest.assert_based("int x;\n", tests, "", language="c", limits=LIMITS))
    assert r.verdicts == ["AC", "RE"]
    assert r.compiles == 3  # the combined build, then one per test
    again = await pool.run(RunRequest.assert_based("int x;\n", tests, "", language="c", limits=LIMITS))
    assert (again.verdicts, again.compiles, again.cached_builds) == (["AC", "RE"], 0, 3)  # its CE is cached too


# ------------------------------------------------------------------------------------------------ the cache alone
def _entry(key: str, size: int) -> CachedBuild:
    return CachedBuild(key=key, files=({"path": "main", "mode": 0o755, "data": "A" * size},), error=None, size=size)


def test_lru_evicts_least_recently_used_by_bytes() -> None:
    cache = BuildCache(max_bytes=300, max_entry_bytes=200)
    cache.put("a", _entry("ka", 100))
    cache.put("b", _entry("kb", 100))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", _entry("kc", 150))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert (cache.stats.bytes, cache.stats.entries, cache.stats.evicted) == (250, 2, 1)
    cache.put("d", _entry("kd", 250))  # larger than one entry may be: not kept, nothing evicted
    assert cache.get("d") is None and cache.stats.bytes == 250


def _job(source: str, tests: tuple[str, ...] = ("1\n",), language: str = "cpp", kind: str = "stdio") -> Job:
    return Job(source=source, language=language, kind=kind, tests=tests)  # type: ignore[arg-type]


def test_slots_follow_the_executors_builds() -> None:
    cache = BuildCache(max_bytes=1 << 20)
    assert cache.slots(_job("print(1)", language="python")) == {}
    assert list(cache.slots(_job("x", ("1\n", "2\n")))) == ["job"]  # one build for every stdio test
    asserts = cache.slots(_job("x", ("t1", "t2"), kind="assert"))
    assert list(asserts) == ["all", "t0", "t1"] and asserts["t0"] == service_key("cpp", "assert", "x", "t1")
    assert list(cache.slots(_job("x", ("t1", "t2"), language="java", kind="assert"))) == ["t0", "t1"]
    assert cache.slots(_job("x", ("t1", "t2"), language="javascript", kind="assert")) == {}  # not compiled
    assert BuildCache(max_bytes=0).slots(_job("x")) == {}  # off


async def test_single_flight_waiters_get_the_leaders_build() -> None:
    cache = BuildCache(max_bytes=1 << 20)
    leader = await cache.plan(_job("x", ("1\n",)), wait_s=5)
    assert leader.attach == {} and list(leader.leads) == [leader.slots["job"]]
    waiter = asyncio.create_task(cache.plan(_job("x", ("2\n",)), wait_s=5))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # waits for the leader's compile
    cache.record(leader, {"type": "build", "slot": "job", "key": "k1", "files": [{"path": "main", "data": "AA"}]})
    plan = await waiter
    assert plan.attach == {"job": {"key": "k1", "files": [{"path": "main", "data": "AA"}]}} and plan.leads == {}
    assert cache.stats.shared == 1
    cache.finish(leader)


async def test_waiters_compile_themselves_when_the_leader_fails_or_is_slow() -> None:
    cache = BuildCache(max_bytes=1 << 20)
    leader = await cache.plan(_job("x"), wait_s=5)
    waiter = asyncio.create_task(cache.plan(_job("x", ("2\n",)), wait_s=5))
    await asyncio.sleep(0.01)
    cache.finish(leader)  # the leader's job ended without a build (a sandbox fault)
    assert (await waiter).attach == {}
    slow = await cache.plan(_job("y"), wait_s=5)
    started = asyncio.get_running_loop().time()
    assert (await cache.plan(_job("y", ("2\n",)), wait_s=0.05)).attach == {}  # bounded wait
    assert asyncio.get_running_loop().time() - started < 1.0
    cache.finish(slow)


@pytest.mark.parametrize("frame", [{"slot": "job", "key": "k", "stored": False}, {"slot": "job", "files": []}])
async def test_unstorable_builds_release_the_waiters(frame: dict) -> None:
    cache = BuildCache(max_bytes=1 << 20)
    leader = await cache.plan(_job("x"), wait_s=5)
    waiter = asyncio.create_task(cache.plan(_job("x", ("2\n",)), wait_s=5))
    await asyncio.sleep(0.01)
    cache.record(leader, {"type": "build", **frame})
    assert (await waiter).attach == {} and cache.stats.entries == 0
