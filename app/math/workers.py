"""Process pool for math verification with a HARD per-item deadline.

- Each worker is a fresh interpreter (`python -c ...`, i.e. spawn semantics: no fork of the threaded parent)
  that pre-imports sympy and latex2sympy2 and warms the parser before it reports ready.
- The parent sends a *chunk* of items in one frame; the worker streams back one frame per item, so the parent
  always knows which item is running and when it started. When an item passes `timeout_s` the worker process is
  killed (SIGKILL: no signal.alarm, no threads), the item reports `timeout`, a replacement worker is started, and
  the unfinished rest of the chunk goes back to the queue for any free worker.
- Workers are recycled between chunks (never mid-item, so no item is lost) after `max_items` items or once
  their resident memory passes `max_rss_mb` (the last result frame of a chunk carries the worker's RSS): sympy's caches and
  latex2sympy2's state grow with every unique item, with no plateau.
- The event loop only reads pipes: it stays responsive while a worker grinds on 5^{5^{5^{5}}}.
- Identical (gold, prediction, config) keys are verified once per call (and shared with concurrent calls);
  a bounded LRU cache serves repeats across calls. Normalized-string equality and plain-number comparisons
  (pure `Fraction` arithmetic, microseconds) are answered in the parent without a round trip.

Frames are 4-byte big-endian length + pickle, over the worker's stdin/stdout (both ends are this code).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import pickle
import struct
import sys
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass

from app.math.compare import DEFAULT_CONFIG, Verdict, VerifyConfig, scalar_eq, verify, verify_candidates
from app.math.limits import FAST_PATH_CHARS
from app.math.normalize import normalize
from app.math.parse import fast_number

log = logging.getLogger("arbiter.math.workers")

_HDR = struct.Struct(">I")
_MAX_CHUNK = 64
_CHUNKS_PER_WORKER = 2
#: (golds, prediction, config); a tuple prediction is the candidates of several different boxes
Key = tuple[tuple[str, ...], str | tuple[str, ...], VerifyConfig]


# ------------------------------------------------------------------------------------------- worker side


def _read_exact(stream, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        part = stream.read(n - len(buf))
        if not part:
            return None
        buf += part
    return bytes(buf)


def _write_frame(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HDR.pack(len(data)) + data)
    stream.flush()


def _rss_mb() -> float:
    """Resident memory of this process (Linux /proc; 0 elsewhere, which disables the RSS limit)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


#: pairs a fresh worker verifies before it reports ready, so that no request pays a first-use cost: sympy
#: imports modules lazily on the first simplify (sympy.physics.units, ~200 ms), latex2sympy2 builds its ANTLR
#: prediction caches per rule on first use (a function application, a trig function, a mixed number, i: 10-100 ms
#: each), evaluation to 50 digits loads mpmath's constants.
_WARM_UP: tuple[tuple[str, str], ...] = (
    ("\\frac{x+1}{2}", "0.5x+\\frac{1}{2}"),
    ("(1,\\sqrt{2}]", "(1, 2^{1/2}]"),
    ("7y(y^2 - 2y + 5)", "6y(y^2 - 2y + 5)"),  # a product by a letter before a parenthesis: expand, Poly
    ("2(y-3)(y+5)", "3(y-3)(y+5)"),
    ("ab + 2a - 7b - 11", "2ab + 2a - 7b - 11"),
    ("g(3) < g(5) < g(2)", "g(4) < g(5) < g(2)"),  # undefined functions
    ("\\sin^2 y + \\cos^2 y", "1"),  # the first simplify imports sympy.physics (~200 ms)
    ("\\cos 2y", "\\cos 5y"),
    ("3\\cot y", "2\\cot y"),
    ("-\\sqrt{y-5}+1", "-\\sqrt{y-6}+1"),
    ("-7 + 2i", "-8 + 2i"),  # complex numbers
    ("-64 - 64 \\sqrt{2} i", "-65 - 64 \\sqrt{2} i"),
    ("3, -1 + 2i, -1 - 2i", "4, -1 + 2i, -1 - 2i"),
    ("21 \\frac{2}{7}", "-(21 \\frac{2}{7})"),  # mixed numbers
    ("\\frac 7{30}", "\\frac 11{30}"),
    ("\\frac{1}{1001!}", "-(\\frac{1}{1001!})"),
    ("5^{1003}", "-(5^{1003})"),
    ("12.6", "-(12.6)"),  # decimals
    ("321_7", "321_7.0"),  # bases
    # ANTLR's DFA is cached per token sequence: the common shapes of polynomial answers, each once
    ("2x(5x^2-x+3)", "3x(5x^2-x+3)"),
    ("(2x^2 + 3)(x^2 - 2x + 7)", "(2x^3 + 3)(x^2 - 2x + 7)"),
    ("(31y + 12)(y + 5)", "(32y + 12)(y + 5)"),
    ("6(5-y)(5+y)", "7(5-y)(5+y)"),
    ("5(y+3)(y-1)", "6(y+3)(y-1)"),
    ("3y(y+1)(y+2)", "4y(y+1)(y+2)"),
    ("h(1) > h(3) > h(2)", "h(0) > h(3) > h(2)"),
    ("(c+3)(d+1)", "(c+4)(d+1)"),
    ("2xy + 3x - 5y - 7", "3xy + 3x - 5y - 7"),
)


def _warm_up() -> None:
    for gold, pred in _WARM_UP:
        verify(gold, pred)


def _worker_main() -> None:  # pragma: no cover - runs in the child process
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must never corrupt the frame stream
    _warm_up()
    # sympy and latex2sympy2 are ~100k objects that live as long as the worker: out of the full collections'
    # reach, which otherwise re-scan them all (60-110 ms) in the middle of some item
    gc.collect()
    gc.freeze()
    _write_frame(stdout, ("ready", os.getpid()))
    while True:
        hdr = _read_exact(stdin, _HDR.size)
        if hdr is None:
            return
        body = _read_exact(stdin, _HDR.unpack(hdr)[0])
        if body is None:
            return
        items = pickle.loads(body)
        last = len(items) - 1
        rss = 0.0
        for k, (golds, pred, config) in enumerate(items):
            try:
                if isinstance(pred, tuple):
                    result = verify_candidates(golds, pred, config)
                else:
                    result = verify(golds, pred, config)
            except MemoryError:
                result = Verdict(False, "none", None, None, "out of memory while verifying", status="error")
            except Exception as exc:
                result = Verdict(False, "none", None, None, f"{type(exc).__name__}: {exc}"[:300], status="error")
            if k == last:
                rss = _rss_mb()  # read once per chunk: the parent decides on recycling between chunks only
            _write_frame(stdout, (k, result, rss))


# ------------------------------------------------------------------------------------------- parent side


@dataclass(eq=False)
class _Item:
    key: Key
    future: asyncio.Future
    crashes: int = 0


@dataclass(eq=False)
class _Proc:
    proc: asyncio.subprocess.Process
    pid: int
    items: int = 0
    rss_mb: float = 0.0

    async def read_frame(self):
        assert self.proc.stdout is not None
        hdr = await self.proc.stdout.readexactly(_HDR.size)
        body = await self.proc.stdout.readexactly(_HDR.unpack(hdr)[0])
        return pickle.loads(body)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass


@dataclass
class MathPoolStats:
    """Counters of a MathWorkerPool since it started (app/metrics.py exports them); sandbox.PoolStats is the
    sandbox pool's, a different pool."""

    cache_hits: int = 0
    cache_misses: int = 0
    dedup_hits: int = 0
    fast_path: int = 0
    timeouts: int = 0
    errors: int = 0
    worker_restarts: int = 0
    recycled: int = 0


def _fast_verdict(key: Key) -> Verdict | None:
    """Decide in the parent when it costs microseconds: equal normalized strings, or two plain numbers."""
    golds, pred, config = key
    if isinstance(pred, tuple) or len(pred) > config.max_answer_chars or not golds:
        return None
    if len(pred) > FAST_PATH_CHARS or any(len(g) > FAST_PATH_CHARS for g in golds):
        return None  # a long gold (a whole solution, nested braces) is normalized in a worker, under the deadline
    if config.choices or config.integer_only or config.rel_tol or config.percent_as_fraction:
        return None  # per-item options change what equal means: the worker decides
    pn = normalize(pred)
    if not pn:
        return None
    numbers = True
    for g in golds:
        gn = normalize(g)
        if gn == pn:
            return Verdict(True, "string", gn, pn)
    pnum = fast_number(pn)
    if pnum is None:
        return None
    for g in golds:
        gnum = fast_number(normalize(g))
        if gnum is None:
            numbers = False
            continue
        if scalar_eq(gnum, pnum, config):
            return Verdict(True, "numeric", normalize(g), pn)
    if numbers:
        return Verdict(False, "numeric", normalize(golds[0]), pn, "not equivalent")
    return None


class MathWorkerPool:
    """`workers` processes verifying (gold, prediction) pairs with a hard `timeout_s` per item."""

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        cache_size: int,
        *,
        max_chunk: int = _MAX_CHUNK,
        max_items: int = 0,
        max_rss_mb: float = 0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.max_items = max_items
        self.max_rss_mb = max_rss_mb
        self._peak_rss = 0.0
        self.workers = workers
        self.timeout_s = timeout_s
        self.cache_size = cache_size
        self.max_chunk = max_chunk
        self.stats = MathPoolStats()
        self._cache: OrderedDict[Key, Verdict] = OrderedDict()
        self._inflight: dict[Key, asyncio.Future] = {}
        self._queue: deque[list[_Item]] = deque()
        #: slots waiting for a chunk: _enqueue wakes them at once (no task per batch, no lock round trip)
        self._idle: deque[asyncio.Future[None]] = deque()
        self._slots: list[asyncio.Task] = []
        self._procs: list[_Proc | None] = []
        self._closed = False
        self._started = False

    @property
    def cache_len(self) -> int:
        return len(self._cache)

    @property
    def peak_worker_rss_mb(self) -> float:
        """Highest RSS a worker reported since the last reset_peak_rss() (for tests and metrics)."""
        return self._peak_rss

    def reset_peak_rss(self) -> None:
        self._peak_rss = 0.0

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self._procs if p is not None]

    async def start(self) -> None:
        if self._started:
            return
        spawned = await asyncio.gather(*(self._spawn() for _ in range(self.workers)), return_exceptions=True)
        failed = [p for p in spawned if isinstance(p, BaseException)]
        if len(failed) == len(spawned):
            raise failed[0]  # none starts: a broken install, not a worker that died
        # A worker that died while warming up is replaced by its slot (and counted) like any later death.
        self._procs = [None if isinstance(p, BaseException) else p for p in spawned]
        self.stats.worker_restarts += len(failed)
        self._slots = [asyncio.create_task(self._run_slot(i), name=f"math-worker-{i}") for i in range(self.workers)]
        self._started = True

    async def close(self) -> None:
        self._closed = True
        for t in self._slots:
            t.cancel()
        await asyncio.gather(*self._slots, return_exceptions=True)
        for p in self._procs:
            if p is not None:
                p.kill()
        for p in self._procs:
            if p is not None:
                try:
                    await asyncio.wait_for(p.proc.wait(), 5)
                except (TimeoutError, ProcessLookupError):
                    pass
        self._procs = []
        for chunk in self._queue:
            for item in chunk:
                if not item.future.done():
                    item.future.set_result(_failed("error", "math worker pool closed"))
        self._queue.clear()
        for fut in self._inflight.values():
            if not fut.done():
                fut.set_result(_failed("error", "math worker pool closed"))
        self._inflight.clear()

    async def __aenter__(self) -> MathWorkerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def verify_many(
        self,
        pairs: Sequence[tuple[Sequence[str] | str, str | tuple[str, ...]]],
        config: VerifyConfig = DEFAULT_CONFIG,
        *,
        configs: Sequence[VerifyConfig] | None = None,
    ) -> list[Verdict]:
        """One Verdict per pair, in order; `status` is "ok", "timeout" or "error". `configs` gives each pair its
        own options (per-item math options); a tuple prediction is several boxes (compare.verify_candidates)."""
        if not self._started or self._closed:
            raise RuntimeError("MathWorkerPool is not running (call start())")
        if configs is not None and len(configs) != len(pairs):
            raise ValueError("configs must give one VerifyConfig per pair")
        per_pair = configs if configs is not None else [config] * len(pairs)
        keys: list[Key] = [((g,) if isinstance(g, str) else tuple(g), p, c) for (g, p), c in zip(pairs, per_pair)]
        results: dict[Key, Verdict] = {}
        waiting: dict[Key, asyncio.Future] = {}
        new: list[_Item] = []
        loop = asyncio.get_running_loop()
        for key in keys:
            if key in results or key in waiting:
                self.stats.dedup_hits += 1
                continue
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.stats.cache_hits += 1
                results[key] = cached
                continue
            fut = self._inflight.get(key)
            if fut is not None:
                self.stats.dedup_hits += 1
                waiting[key] = fut
                continue
            self.stats.cache_misses += 1
            fast = _fast_verdict(key)
            if fast is not None:
                self.stats.fast_path += 1
                self._remember(key, fast)
                results[key] = fast
                continue
            fut = loop.create_future()
            self._inflight[key] = fut
            waiting[key] = fut
            new.append(_Item(key, fut))
        if new:
            self._enqueue(new)
        if waiting:
            # asyncio.wait, not gather: a cancelled caller must not cancel futures that concurrent calls share
            # (and one wait costs less than a shield per item)
            await asyncio.wait(waiting.values())
            results.update((key, fut.result()) for key, fut in waiting.items())
        return [results[k] for k in keys]

    # ------------------------------------------------------------------------------------- internals

    def _remember(self, key: Key, verdict: Verdict) -> None:
        if self.cache_size <= 0 or verdict.status != "ok":
            return
        self._cache[key] = verdict
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _resolve(self, item: _Item, verdict: Verdict) -> None:
        if verdict.status == "timeout":
            self.stats.timeouts += 1
        elif verdict.status != "ok":
            self.stats.errors += 1
        self._remember(item.key, verdict)
        self._inflight.pop(item.key, None)
        if not item.future.done():
            item.future.set_result(verdict)

    def _enqueue(self, items: list[_Item], front: bool = False) -> None:
        # 2 chunks per worker and call (math_accuracy sends a batch as slices of 128 items, so a 512-item request
        # is ~16 chunks): a slow item holds back only its chunk's few items while the other worker takes the rest;
        # smaller chunks measured more worker CPU per item (a wake-up and a frame each)
        size = max(1, min(self.max_chunk, math.ceil(len(items) / (self.workers * _CHUNKS_PER_WORKER))))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        if front:
            self._queue.extendleft(reversed(chunks))
        else:
            self._queue.extend(chunks)
        woken = 0
        while self._idle and woken < len(chunks):
            waiter = self._idle.popleft()
            if not waiter.done():  # a slot cancelled while idle leaves a cancelled waiter
                waiter.set_result(None)
                woken += 1

    async def _next_chunk(self) -> list[_Item]:
        loop = asyncio.get_running_loop()
        while not self._queue:
            waiter: asyncio.Future[None] = loop.create_future()
            self._idle.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    waiter.cancel()
        return self._queue.popleft()

    async def _spawn(self) -> _Proc:
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONHASHSEED", "0")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from app.math.workers import _worker_main; _worker_main()",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            cwd=root,
        )
        p = _Proc(proc, proc.pid)
        try:
            hello = await asyncio.wait_for(p.read_frame(), 120)
        except BaseException:
            p.kill()
            raise
        if not (isinstance(hello, tuple) and hello[0] == "ready"):
            p.kill()
            raise RuntimeError(f"math worker sent {hello!r} instead of ready")
        return p

    async def _replace(self, slot: int) -> None:
        old = self._procs[slot]
        self._procs[slot] = None
        if old is not None:
            old.kill()
            try:
                await asyncio.wait_for(old.proc.wait(), 5)
            except TimeoutError:
                pass
        self.stats.worker_restarts += 1

    def _worn_out(self, proc: _Proc) -> bool:
        return (self.max_items > 0 and proc.items >= self.max_items) or (
            self.max_rss_mb > 0 and proc.rss_mb >= self.max_rss_mb
        )

    async def _retire(self, slot: int) -> None:
        """Recycle an idle worker (its chunk is done): EOF lets it exit; the slot spawns a fresh one."""
        old = self._procs[slot]
        self._procs[slot] = None
        self.stats.recycled += 1
        if old is None:
            return
        log.info("recycling math worker pid %d after %d items, %.0f MB RSS", old.pid, old.items, old.rss_mb)
        try:
            assert old.proc.stdin is not None
            old.proc.stdin.close()
            await asyncio.wait_for(old.proc.wait(), 2)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            old.kill()
            await old.proc.wait()

    async def _run_slot(self, slot: int) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            try:
                if self._procs[slot] is None:
                    self._procs[slot] = await self._spawn()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.worker_restarts += 1  # a restart, though the new worker died before it was ready
                log.exception("math worker failed to start; retrying in 1 s")
                await asyncio.sleep(1)
                continue
            proc = self._procs[slot]
            assert proc is not None
            chunk = await self._next_chunk()
            chunk = [it for it in chunk if not it.future.done()]
            if not chunk:
                continue
            payload = pickle.dumps([it.key for it in chunk], protocol=pickle.HIGHEST_PROTOCOL)
            try:
                assert proc.proc.stdin is not None
                proc.proc.stdin.write(_HDR.pack(len(payload)) + payload)
                await proc.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                await self._replace(slot)
                self._enqueue(chunk, front=True)
                continue
            done = 0
            started = loop.time()
            try:
                while done < len(chunk):
                    try:
                        # a timeout context, not wait_for: no task per item
                        async with asyncio.timeout_at(started + self.timeout_s):
                            k, verdict, rss_mb = await proc.read_frame()
                    except TimeoutError:
                        self._resolve(
                            chunk[done],
                            _failed("timeout", f"verification exceeded {self.timeout_s:g} s; worker killed"),
                        )
                        break
                    except (asyncio.IncompleteReadError, ConnectionResetError, pickle.UnpicklingError) as exc:
                        item = chunk[done]
                        item.crashes += 1
                        if item.crashes < 2:  # the worker may have died of something else: one retry
                            done -= 1
                            break
                        code = proc.proc.returncode
                        self._resolve(
                            item,
                            _failed(
                                "error", f"math worker died while verifying this item ({type(exc).__name__}, rc={code})"
                            ),
                        )
                        break
                    if k != done:
                        raise RuntimeError(f"math worker answered item {k}, expected {done}")
                    self._resolve(chunk[done], verdict)
                    proc.items += 1
                    if rss_mb:  # the chunk's last frame carries the worker's RSS
                        proc.rss_mb = rss_mb
                        self._peak_rss = max(self._peak_rss, rss_mb)
                    done += 1
                    started = loop.time()
            except asyncio.CancelledError:
                rest = [it for it in chunk[done:] if not it.future.done()]
                for it in rest:
                    it.future.set_result(_failed("error", "math worker pool closed"))
                raise
            if done == len(chunk) and self._worn_out(proc):
                await self._retire(slot)
                continue
            if done < len(chunk):
                # the worker is killed mid-chunk: a fresh one takes its slot, the rest goes to any free worker
                rest = [it for it in chunk[done + 1 :] if not it.future.done()]
                await self._replace(slot)
                if rest:
                    self._enqueue(rest, front=True)


def _failed(status: str, reason: str) -> Verdict:
    return Verdict(False, "none", None, None, reason, status=status)


__all__ = ["MathPoolStats", "MathWorkerPool"]
