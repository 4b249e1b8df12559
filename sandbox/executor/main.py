"""The executor's job loop: one long-lived process inside one isolation boundary, one job after another.

Protocol (stdin/stdout of this process): every frame is a 4-byte big-endian length followed by that many bytes of
UTF-8 JSON (frames.py). On start the executor sends {"type": "hello", ...}. Then, per request:
    {"type": "job", "job": {...}}   ->  {"type": "result", "outcome": {...}}
    {"type": "ping"}                ->  {"type": "pong"}
Nothing else ever writes to the real stdout: the protocol fds are duplicated away at start and fd 1/2 point to
stderr / /dev/null; user programs get their own pipes.

Per test the program runs in a new process group (limits.py says why not a session), as an unprivileged uid when the executor is root,
under RLIMIT_CPU (the TLE clock), a wall-clock cap, the memory limit, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE,
with its output read as it streams under a size cap (process.py). After every test, every process of the sandbox
uid is killed and the test's directory is removed (cleanup.py). With job["stop_after_failure"], the first test
whose verdict is neither OK nor AC ends the job: the tests after it are not run and report SKIP. A compile error
never runs any test (CE for all).
"""

from __future__ import annotations

import binascii
import os
import shutil
import signal
import sys
from collections.abc import Callable
from typing import Any

from .artifacts import build_key, collect, install
from .cachelinks import CacheSeeder
from .checker import Checker
from .cleanup import Cleaner
from .frames import FrameError, Frames
from .harness_zygote import HarnessZygote
from .interactor import Dialogue, Interactor
from .kinds import KINDS
from .languages import LANGUAGES, Build, Language
from .limits import ChildLimits
from .process import ProcessRunner
from .settings import Settings
from .verdicts import RAN_OK, Verdict, classify
from .zygote import ZygoteLost, undumpable

PROTOCOL_VERSION = 1
CE_CAP = 16 * 1024


def constant_outcome(verdict: Verdict, msg: str = "") -> dict[str, Any]:
    return {
        "verdict": verdict,
        "cpu_s": 0.0,
        "wall_s": 0.0,
        "exit_code": None,
        "signal": None,
        "stdout": "",
        "stderr": msg,
        "return_value": None,
        "truncated": False,
    }


def toolchain_missing(lang: Language) -> str:
    """Why lang cannot run in this boundary ("" when it can): a reason that says what to install."""
    if os.path.exists(lang.toolchain):
        return ""
    return (
        "%s is not available in this sandbox (%s not found): %s on the host for the bwrap backend, or rebuild "
        "the sandbox image (make images)" % (lang.name, lang.toolchain, lang.install_hint)
    )


class Executor:
    def __init__(self, cfg: Settings, frames: Frames) -> None:
        self.cfg = cfg
        self.frames = frames
        self.runner = ProcessRunner(cfg)
        #: the current assert test's harness (kinds/asserts.py): it reports after the candidate's cleanup
        self.helpers: set[int] = set()
        #: forks the assert harnesses (harness_zygote.py)
        self.harnesses = HarnessZygote(cfg)
        self.cleaner = Cleaner(cfg, spare=lambda: (*self.runner.zygote.pids(), *self.harnesses.pids(), *self.helpers))
        self.seeder = CacheSeeder(cfg)
        self.job_counter = 0
        self.dirty = False
        self.job_builds = {"compiled": 0, "cached": 0}  # this job's compiler runs and builds served from the cache
        self.interactor: Interactor | None = None  # the current job's, if it is interactive

    # ---------------------------------------------------------------- jobs
    def run_job(self, job: dict[str, Any]) -> dict[str, Any]:
        self.job_counter += 1
        self.job_builds = {"compiled": 0, "cached": 0}
        name = job.get("language", "python")
        kind_name = job.get("kind", "stdio")
        tests = job.get("tests") or []
        lang = LANGUAGES.get(name)
        if lang is None:
            raise ValueError("unknown language %r" % name)
        if kind_name not in KINDS or kind_name not in lang.kinds:
            raise ValueError("%s does not run %s tests" % (name, kind_name))
        missing = toolchain_missing(lang)
        if missing:
            return {"compile_output": "", "tests": [constant_outcome(Verdict.SE, missing) for _ in tests]}
        jobdir = os.path.join(self.cfg.workroot, "job%d-%d" % (os.getpid(), self.job_counter))
        os.mkdir(jobdir, 0o755)
        compile_output = ""
        outcomes: list[dict[str, Any]] = []
        # Assert tests of compiled languages build the program together with each test's code (HumanEval-X has
        # one test per problem): several tests in one build where the language can (combined), else one build per
        # test. Everything else builds once per job.
        per_test_build = lang.builds_per_test(kind_name)
        try:
            build = None
            if per_test_build and lang.combines_asserts and len(tests) > 1:
                build = self.build_combined(lang, job, jobdir, [str(t) for t in tests])
                per_test_build = build is None
            elif not per_test_build:
                build, compile_output = self.build(lang, job, jobdir, "b", None, "job")
                if build is None:
                    return {
                        "compile_output": compile_output,
                        "tests": [constant_outcome(Verdict.CE, compile_output) for _ in tests],
                        "dirty": self.dirty,
                        "builds": dict(self.job_builds),
                    }
            self.interactor = None
            if job.get("interactor"):
                self.interactor = Interactor(self.cfg, job["interactor"], jobdir)
                self.interactor.prepare(job.get("compile_limits") or {})
                if self.interactor.error is not None:
                    err = self.interactor.error
                    return {
                        "compile_output": compile_output,
                        "tests": [dict(constant_outcome(Verdict.WA, err), reference_error=err) for _ in tests],
                        "dirty": self.dirty,
                        "builds": dict(self.job_builds),
                    }
            checker = None
            if job.get("checker"):
                checker = Checker(self.cfg, job["checker"], jobdir)
                checker.prepare(job.get("compile_limits") or {})
            answers = job.get("answers") or []
            stop = bool(job.get("stop_after_failure"))
            failed = False
            for i, test in enumerate(tests):
                if failed:
                    outcomes.append(constant_outcome(Verdict.SKIP, "not run: an earlier test failed"))
                    continue
                test_build = build
                if per_test_build:
                    test_build, msg = self.build(lang, job, jobdir, "b%d" % i, test, "t%d" % i)
                    compile_output = compile_output or msg
                    if test_build is None:
                        outcomes.append(constant_outcome(Verdict.CE, msg))
                        failed = stop
                        continue
                assert test_build is not None
                out = self.run_test(job, lang, test, test_build, jobdir, i)
                if checker is not None and out["verdict"] == RAN_OK and i < len(answers):
                    # the program and everything it started are gone (run_test's cleanup) before the checker runs
                    out = checker.check(out, str(test), str(answers[i]), i)
                outcomes.append(out)
                failed = stop and out["verdict"] not in (RAN_OK, Verdict.AC)
        finally:
            self.cleaner.rmtree(jobdir)
        return {
            "compile_output": compile_output,
            "tests": outcomes,
            "dirty": self.dirty,
            "builds": dict(self.job_builds),
        }

    def build_combined(self, lang: Language, job: dict[str, Any], jobdir: str, tests: list[str]) -> Build | None:
        """Every assert test of the job in one build, or None (then test by test: a combined build that does not
        compile, say two tests defining the same helper, must not turn into a CE that a build per test avoids)."""
        source = job.get("source", "")
        build, _ = self.build(
            lang,
            job,
            jobdir,
            "ball",
            None,
            slot="all",
            prepare=lambda src, out: lang.prepare_combined(src, out, source, tests),
        )
        return build

    def build(
        self,
        lang: Language,
        job: dict[str, Any],
        jobdir: str,
        name: str,
        test_code: Any,
        slot: str = "job",
        prepare: Callable[[str, str], Build] | None = None,
    ) -> tuple[Build | None, str]:
        """Write (and compile, or install from the build cache) the program; (None, message) on a compile error."""
        src_dir = os.path.join(jobdir, name)
        os.mkdir(src_dir, 0o755)
        build_dir = os.path.join(src_dir, "build")
        source = job.get("source", "")
        try:
            if prepare is not None:
                build = prepare(src_dir, build_dir)
            elif test_code is None:
                build = lang.prepare(src_dir, build_dir, source)
            else:
                build = lang.prepare_assert(src_dir, build_dir, source, str(test_code))
        except ValueError as e:  # the test code lacks what the harness needs (a main, a #[test] fn)
            return None, "arbiter: cannot build the test: %s" % e
        if not lang.compiled:
            self.cleaner.mkdir_for_user(build_dir, 0o755)
            return build, ""
        kind = job.get("kind", "stdio")
        argv, env = lang.compile_argv(build, kind), lang.compile_env(build)
        cache = job.get("build_cache")
        key = build_key(lang, kind, build, argv, env) if isinstance(cache, dict) else ""
        sent = (cache.get("builds") or {}).get(slot) if isinstance(cache, dict) else None
        if isinstance(sent, dict) and sent.get("key") == key:
            served = self.serve_cached(build, sent)
            if served is not None:
                self.job_builds["cached"] += 1
                return served
        self.cleaner.mkdir_for_user(build_dir, 0o755)
        if lang.seed_cache:
            self.seeder.seed(lang.seed_cache, os.path.join(build_dir, lang.cache_name))
        ok, msg, final = self.compile(lang, build, argv, env, job.get("compile_limits") or {})
        self.job_builds["compiled"] += 1
        if isinstance(cache, dict) and final:
            self.send_build(job, slot, key, lang, build, msg, ok, int(cache.get("max_bytes") or 0))
        return (build if ok else None), msg

    def serve_cached(self, build: Build, sent: dict[str, Any]) -> tuple[Build | None, str] | None:
        """Use a build the service sent (its key already checked): its compile error, or its files written into a
        build directory of the executor's own (programs cannot change them). None: compile instead."""
        if "error" in sent:
            return None, str(sent["error"])
        os.mkdir(build.build_dir, 0o755)
        try:
            install(build.build_dir, list(sent.get("files") or ()))
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            sys.stderr.write("executor: ignoring a malformed cached build: %s\n" % e)
            shutil.rmtree(build.build_dir)
            return None
        return build, ""

    def send_build(
        self, job: dict[str, Any], slot: str, key: str, lang: Language, build: Build, msg: str, ok: bool, cap: int
    ) -> None:
        """Report a fresh build to the service before any test runs (see artifacts.py for why then)."""
        frame: dict[str, Any] = {"type": "build", "id": job.get("id"), "slot": slot, "key": key}
        if not ok:
            frame["error"] = msg
        else:
            files = collect(build.build_dir, lang.cache_name, cap) if cap > 0 else None
            if files is None:
                frame["stored"] = False  # too large to keep: the service stops waiting for it
            else:
                frame["files"] = files
        self.frames.write(frame)

    def compile(
        self, lang: Language, build: Build, argv: list[str], env: dict[str, str], cl: dict[str, Any]
    ) -> tuple[bool, str, bool]:
        """(compiled, the compiler's message, final): final is False when the outcome depends on the moment (a
        time limit, the compiler not starting), so that it is not cached."""
        memory_mb = int(cl.get("memory_mb", 2048))
        limits = ChildLimits(
            cpu_s=float(cl.get("cpu_s", 20.0)),
            memory_mb=memory_mb,
            max_processes=max(int(cl.get("max_processes", 32)), lang.compile_processes),
            file_size_mb=float(cl.get("file_size_mb", 256)),
            open_files=int(cl.get("open_files", 256)),
            address_space=lang.address_space_limit,
            data_mb=memory_mb if not lang.address_space_limit else 0,
        )
        r = self.runner.run(
            argv,
            cwd=build.build_dir,
            limits=limits,
            stdin_data=b"",
            wall_s=float(cl.get("wall_s", 30.0)),
            max_out=CE_CAP,
            stderr_cap=CE_CAP,
            env=env,
        )
        # a process of the compiler's uid still alive could change the build after this: then it is not cached
        alone = self.cleaner.kill_all(r.pid)
        msg = (r.stderr + r.stdout).decode("utf-8", "replace")[:CE_CAP]
        if r.setup_error:
            return False, "arbiter: cannot start the compiler: " + r.setup_error, False
        if r.killed_wall or r.signal in (signal.SIGXCPU, signal.SIGKILL) or r.cpu_s > limits.cpu_s:
            return False, (msg + "\ncompilation exceeded its time limit").strip(), False
        if r.exit_code != 0:
            return False, msg or "compilation failed", alone and r.signal is None
        return True, msg, alone

    def run_test(
        self, job: dict[str, Any], lang: Language, test: Any, build: Build, jobdir: str, i: int
    ) -> dict[str, Any]:
        lim = job.get("limits") or {}
        kind = KINDS[job.get("kind", "stdio")]
        cpu = float(lim.get("cpu_s", 2.0))
        memory_mb = int(lim.get("memory_mb", 256))
        wall = float(lim.get("wall_s") or (2 * cpu + 1))
        cwd = os.path.join(jobdir, "t%d" % i)
        self.cleaner.mkdir_for_user(cwd)
        pgid = None
        try:
            limits = ChildLimits.from_json(
                lim,
                address_space=lang.address_space_limit,
                data_mb=0 if lang.address_space_limit else memory_mb + lang.data_overhead_mb,
                big_stack=lang.big_stack,
            )
            if lang.name in kind.own_run_languages:
                out, pgid = kind.run(self, job, test, build.entry, cwd, limits)  # type: ignore[attr-defined]
                return out
            nonce = os.urandom(16).hex().encode() if kind.needs_nonce else None
            argv = lang.run_argv(build, self.cfg, kind.name, memory_mb)
            if argv is not None and build.test_args:
                argv = argv + build.test_args[i]  # this test's part of a combined build

            dialogue: Dialogue | None = None
            if self.interactor is not None and kind.name == "stdio":
                dialogue = self.interactor.start(str(test), i)

            r = self.runner.run(
                argv,
                cwd=cwd,
                limits=limits,
                stdin_data=b"" if dialogue is not None or kind.name == "assert" else kind.stdin(test),
                wall_s=wall,
                max_out=int(lim.get("max_output_bytes", 1 << 20)),
                env=lang.run_env(build, memory_mb),
                # the warm child's data: this test only (never the other tests' inputs)
                python_child={"job": {k: v for k, v in job.items() if k != "tests"}, "test": test, "src": build.entry}
                if argv is None
                else None,
                result_pipe=kind.result_pipe,
                nonce=nonce,
                extra_fds=dialogue.program_fds if dialogue is not None else None,
            )
            pgid = r.pid
            verdict = classify(r, cpu, memory_mb, lang.oom_markers)
            stderr = r.stderr.decode("utf-8", "replace")
            out = {
                "verdict": verdict,
                "cpu_s": round(r.cpu_s, 4),
                "wall_s": round(r.wall_s, 4),
                "exit_code": r.exit_code,
                "signal": r.signal,
                "stdout": r.stdout.decode("utf-8", "replace"),
                "stderr": "arbiter: " + r.setup_error if verdict == Verdict.SE else stderr,
                "return_value": None,
                "truncated": r.truncated,
            }
            if verdict == RAN_OK:
                out = kind.finish(out, r, nonce)
            if dialogue is not None:
                out = dialogue.finish(out, r)
        finally:
            if not self.cleaner.kill_all(pgid):
                self.dirty = True
            self.cleaner.rmtree(cwd)
            self.cleaner.clean_shared_dirs()
            if not self.cleaner.clean_ipc():
                self.dirty = True  # the pool recycles this worker: nothing of this job may reach the next
        return out

    def toolchains(self) -> dict[str, Any]:
        """Each language's toolchain version here, or why it is missing and what to install."""
        out: dict[str, Any] = {}
        for name, lang in LANGUAGES.items():
            missing = toolchain_missing(lang)
            if missing:
                out[name] = {"available": False, "version": None, "reason": missing}
                continue
            version = self.runner.version(list(lang.version_argv))
            out[name] = {"available": version is not None, "version": version, "reason": None}
            if version is None:
                out[name]["reason"] = "%s does not run here: %s" % (lang.toolchain, lang.install_hint)
        return out

    # ---------------------------------------------------------------- main loop
    def serve(self) -> None:
        self.frames.write(
            {
                "type": "hello",
                "version": PROTOCOL_VERSION,
                "pid": os.getpid(),
                "uid": self.cfg.uid,
                "switch_user": self.cfg.switch_user,
                "python": sys.version.split()[0],
            }
        )
        while True:
            try:
                msg = self.frames.read()
            except FrameError as e:  # the stream is still in step: say so and serve the next frame
                self.frames.write({"type": "error", "message": str(e)})
                continue
            if msg is None:
                return
            t = msg.get("type")
            if t == "ping":
                self.frames.write({"type": "pong"})
            elif t == "toolchains":
                self.frames.write({"type": "toolchains", "languages": self.toolchains()})
            elif t == "job":
                job = msg.get("job") or {}
                try:
                    outcome = self.run_job(job)
                except Exception as e:
                    reason = "executor error: %s: %s" % (type(e).__name__, e)
                    outcome = {
                        "compile_output": "",
                        "dirty": True,
                        "tests": [constant_outcome(Verdict.SE, reason) for _ in job.get("tests") or []],
                    }
                    self.dirty = True
                outcome["id"] = job.get("id")
                self.frames.write({"type": "result", "outcome": outcome})
            elif t == "exit":
                return
            else:
                self.frames.write({"type": "error", "message": "unknown frame type %r" % t})


def main(argv: list[str] | None = None) -> int:
    """The executor's job loop (entry.py dispatches the zygotes before this module is imported)."""
    args = sys.argv[1:] if argv is None else argv
    cfg = Settings(args)
    # Keep the protocol on private fds; fd 1 goes to stderr so stray prints cannot corrupt the stream.
    rfd = os.dup(0)
    wfd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    os.set_inheritable(rfd, False)
    os.set_inheritable(wfd, False)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    os.umask(0o022)
    try:
        os.makedirs(cfg.workroot, exist_ok=True)
    except OSError:
        pass  # the backend made it (read-only parent): the mkdir of the first job says if not
    if not cfg.switch_user:
        # one uid for the executor and the programs: make the executor (which holds jobs' expected answers and
        # test code) undumpable, so that programs can neither ptrace it nor read its memory through /proc
        undumpable()
    ex = Executor(cfg, Frames(rfd, wfd))
    try:
        try:
            # before the hello. A fresh interpreter (exec, entry.py), not a fork of the executor: every page and
            # mapping the zygote holds is paid for every test it forks (page tables at the fork, copy-on-write on
            # the child's writes, the teardown at its exit), and the executor's job loop and language table are
            # not the programs' (bwrap, 1 worker: anonymous RSS 10.1 -> 8.7 MB, 102 -> 81 mappings; worker CPU per
            # trivial test -15 to -25%, docs/performance.md)
            ex.runner.zygote.start()
        except (ZygoteLost, OSError) as e:  # Python tests then retry it and report SE with this reason
            print("arbiter executor: the zygote did not start: %s" % e, file=sys.stderr)
        try:
            ex.harnesses.start()  # likewise a fresh interpreter (10.4 -> 9.0 MB anonymous, 102 -> 70 mappings)
        except OSError as e:  # assert tests then start it afresh, or fork their harness from the executor
            print("arbiter executor: the harness zygote did not start: %s" % e, file=sys.stderr)
        ex.serve()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return 0
