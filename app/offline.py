"""Offline scoring of a JSONL file: `arbiter score INPUT.jsonl -o OUTPUT.jsonl [--profile r1] [--keep correct]`.

The rejection-sampling step of R1's distillation data (800k samples kept by a rule-based verifier), with the
service's own code paths: the same Services.start (math workers, sandbox pool, pipeline) and the same intake
(app/intake.py: each line becomes a scoring item with /v1/score's models, limits and messages).

Each input line is a JSON object; the completion, answer, tests, id and group field names are options. Every
other field is copied to the output, with the result under `arbiter` (reward, components, status, reason,
details, and the `id` used to resume). A line that cannot be scored (bad JSON, no completion, a reference /v1/score would reject) is written
with status `invalid` and the reason; it never stops the run.

Resuming: the output is the journal. Each scored item is written as one complete line and flushed; with
`--keep correct` the items not kept go, as their result only, to OUTPUT.rejected.jsonl, so every scored item is
in exactly one of the two files. On start, the ids in both are read and skipped; a torn last line (the process
was killed mid-write) is cut off and that item scored again. The input must therefore carry unique ids (or have
none: an item without one is known by its line number, `@<line>`, so the input must not change between runs).
Items of one batch are written in one write call, so a GRPO group is almost never split by an interruption; if
it is, its unfinished members are scored as a smaller group (this matters only to the per-group `length` reward).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from app.completion import TagConfig
from app.config import Settings
from app.errors import ArbiterError, InvalidRequest
from app.intake import Fields, Intake, IntakeLimits, JsonlLine
from app.rewards.base import RewardParams, ScoringItem
from app.rewards.pipeline import ItemOutcome, Pipeline, Selection

Keep = Literal["all", "correct"]


class OfflineError(Exception):
    """A problem with the job itself (bad options, unreadable or inconsistent files): reported, exit code 2."""


@dataclass(frozen=True, slots=True)
class OfflineJob:
    input: Path
    output: Path
    rewards: Selection | None = None
    keep: Keep = "all"
    fields: Fields = field(default_factory=Fields)
    batch_size: int = 64
    #: Batches scored at once: keeps the math workers and sandbox busy while one batch waits on a slow item.
    concurrency: int = 4
    #: Score at most this many new items, then stop as an interruption would (a sample run; tests use it).
    limit: int | None = None
    result_field: str = "arbiter"
    max_completion_chars: int = Settings.model_fields["max_completion_chars"].default
    progress: bool = True

    @property
    def rejected(self) -> Path:
        return self.output.with_name(self.output.name.removesuffix(".jsonl") + ".rejected.jsonl")


@dataclass(slots=True)
class Tally:
    """Counts over every scored item, the ones of earlier runs included (read back from the journal)."""

    statuses: Counter[str] = field(default_factory=Counter)
    kept: int = 0
    rejected: int = 0
    passed: int = 0
    judged: int = 0
    sums: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, result: Mapping[str, Any], kept: bool) -> None:
        self.statuses[str(result.get("status"))] += 1
        if kept:
            self.kept += 1
        else:
            self.rejected += 1
        components = result.get("components") or {}
        for name, value in components.items():
            self.sums[name] += float(value)
            self.counts[name] += 1
        if "accuracy" in components and result.get("status") != "invalid":
            self.judged += 1
            self.passed += components["accuracy"] == 1.0

    @property
    def total(self) -> int:
        return self.kept + self.rejected

    def pass_rate(self) -> str:
        return f"{self.passed / self.judged:.1%}" if self.judged else "n/a"


@dataclass(slots=True)
class RunReport:
    tally: Tally
    input_items: int
    resumed: int
    scored_now: int
    seconds: float
    complete: bool

    @property
    def throughput(self) -> float:
        return self.scored_now / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class _Line:
    number: int
    id: str
    record: dict[str, Any] | None
    #: Why the line cannot be scored; None when `item` is set.
    invalid: str | None
    item: ScoringItem | None = None


# ---------------------------------------------------------------- journal


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The complete lines of an output file. A torn last line (no final newline: the writer was killed) is cut
    off the file, so that the item is scored again and appended whole."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with path.open("r+b") as f:
            f.truncate(end)
    records = []
    for number, raw in enumerate(data[:end].splitlines(), 1):
        try:
            records.append(json.loads(raw))
        except json.JSONDecodeError as exc:
            # Only the last line can be torn; a bad line before it is not ours to repair.
            raise OfflineError(
                f"{path}:{number}: not a JSON line ({exc.msg}); not an output of arbiter score?"
            ) from None
    return records


# ---------------------------------------------------------------- input


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                yield number, line


def _parse(number: int, line: str, fields: Fields) -> tuple[str, dict[str, Any] | None, str | None]:
    """(id, record, why invalid)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"@{number}", None, f"line {number}: not JSON ({exc.msg})"
    if not isinstance(record, dict):
        return f"@{number}", None, f"line {number}: not a JSON object"
    raw_id = record.get(fields.id)
    return (str(raw_id) if raw_id is not None else f"@{number}"), record, None


def scan_ids(path: Path, fields: Fields) -> int:
    """Count the items and check that ids are unique: resuming skips by id, so a repeated id would be lost."""
    seen: dict[str, int] = {}
    for number, line in _read_lines(path):
        item_id, _, _ = _parse(number, line, fields)
        if item_id in seen:
            raise OfflineError(
                f"{path}:{number}: id {item_id!r} already used on line {seen[item_id]}; ids must be unique to resume"
            )
        seen[item_id] = number
    return len(seen)


def _to_item(number: int, item_id: str, record: dict[str, Any], job: OfflineJob, intake: Intake) -> _Line:
    try:
        [item] = intake.items(JsonlLine(record, item_id, job.fields))
    except ArbiterError as exc:
        # The intake names the field relative to the line (`completion: ...`): written as it is.
        return _Line(number, item_id, record, exc.detail)
    return _Line(number, item_id, record, None, item)


async def _batches(job: OfflineJob, intake: Intake, done: set[str]) -> AsyncIterator[list[_Line]]:
    """Unfinished lines in batches; a batch is cut only between groups, so a GRPO group is scored together."""
    batch: list[_Line] = []
    taken = 0
    for number, raw in _read_lines(job.input):
        item_id, record, invalid = _parse(number, raw, job.fields)
        if item_id in done:
            continue
        if job.limit is not None and taken >= job.limit:
            break
        taken += 1
        line = (
            _Line(number, item_id, record, invalid)
            if record is None
            else _to_item(number, item_id, record, job, intake)
        )
        if len(batch) >= job.batch_size and not _same_group(batch[-1], line):
            yield batch
            batch = []
        batch.append(line)
    if batch:
        yield batch


def _same_group(a: _Line, b: _Line) -> bool:
    ga = a.item.group if a.item else None
    gb = b.item.group if b.item else None
    return ga is not None and ga == gb


# ---------------------------------------------------------------- scoring


def _result(outcome: ItemOutcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "reward": outcome.reward,
        "components": outcome.components,
        "status": outcome.status,
        "reason": outcome.reason,
        "details": outcome.details,
    }


def _invalid(item_id: str, reason: str) -> dict[str, Any]:
    return {"id": item_id, "reward": 0.0, "components": {}, "status": "invalid", "reason": reason, "details": {}}


class _Writer:
    """Appends scored items to the output (kept) or the rejects journal (not kept), one flushed write per batch."""

    def __init__(self, job: OfflineJob, tally: Tally) -> None:
        self._job = job
        self._tally = tally
        # backslashreplace: a lone surrogate (valid in JSON text, not in UTF-8) can only sit inside a JSON string,
        # where its backslash form `\udc00` is the JSON escape it arrived as: the line stays valid and faithful.
        self._out: TextIO = job.output.open("a", encoding="utf-8", errors="backslashreplace")
        self._rejected: TextIO | None = (
            job.rejected.open("a", encoding="utf-8", errors="backslashreplace") if job.keep == "correct" else None
        )

    def write(self, lines: list[_Line], results: list[dict[str, Any]]) -> None:
        kept_text, rejected_text = [], []
        for line, result in zip(lines, results):
            kept = self._job.keep == "all" or result["components"].get("accuracy") == 1.0
            if kept:
                record: dict[str, Any] = (
                    dict(line.record) if line.record is not None else {self._job.fields.id: line.id}
                )
                record[self._job.result_field] = result
                kept_text.append(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                rejected_text.append(json.dumps({self._job.result_field: result}, ensure_ascii=False) + "\n")
            self._tally.add(result, kept)
        for handle, text in ((self._out, kept_text), (self._rejected, rejected_text)):
            if handle is not None and text:
                handle.write("".join(text))
                handle.flush()

    def close(self) -> None:
        self._out.close()
        if self._rejected is not None:
            self._rejected.close()


def _journal_ids(job: OfflineJob, tally: Tally, selection: Mapping[str, RewardParams]) -> set[str]:
    done: set[str] = set()
    sources = [(job.output, True)] + ([(job.rejected, False)] if job.keep == "correct" else [])
    if job.keep == "all" and job.rejected.exists():
        raise OfflineError(f"{job.rejected} exists: the earlier run used --keep correct; use it again or a new output")
    for path, kept in sources:
        for record in read_journal(path):
            result = record.get(job.result_field)
            if not isinstance(result, dict):
                raise OfflineError(f"{path}: a line without {job.result_field!r}; not an output of arbiter score?")
            names = set(result.get("components") or {})
            if names and names != set(selection):
                raise OfflineError(
                    f"{path} was scored with rewards {sorted(names)}, this run asks for {sorted(selection)}; "
                    "resume with the same selection or write to a new output"
                )
            # The result carries the id Arbiter used (the input's, or @<line> when it had none).
            done.add(str(result.get("id")))
            tally.add(result, kept)
    return done


async def score_file(job: OfflineJob, pipeline: Pipeline, tags: TagConfig, console: Console | None = None) -> RunReport:
    """Score the unfinished lines of job.input into job.output. Raises OfflineError for a bad job."""
    console = console or Console(stderr=True)
    # One line is one item: the count limit cannot bite; the completion limit is the service's.
    intake = Intake(tags, IntakeLimits(max_items=1, max_completion_chars=job.max_completion_chars))
    try:
        selection = pipeline.resolve(job.rewards)
    except InvalidRequest as exc:
        raise OfflineError(exc.detail) from None
    if job.keep == "correct" and "accuracy" not in selection:
        raise OfflineError("--keep correct keeps items whose accuracy is 1: add the accuracy reward")
    total = scan_ids(job.input, job.fields)
    tally = Tally()
    done = _journal_ids(job, tally, selection)
    resumed = len(done)
    if resumed:
        console.print(f"resuming: {resumed} of {total} items already scored in {job.output}")
    writer = _Writer(job, tally)
    start = time.perf_counter()
    scored_now = 0
    progress = Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.1f} items/s"),
        TextColumn("pass {task.fields[pass_rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not job.progress,
    )
    in_flight = asyncio.Semaphore(job.concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def score_batch(batch: list[_Line]) -> None:
        nonlocal scored_now
        try:
            valid = [line for line in batch if line.item is not None]
            # Indices must be positions in the batch: rewards use them to put results back in order.
            items = [replace(line.item, index=k) for k, line in enumerate(valid) if line.item is not None]
            outcomes = iter(await pipeline.score(items, selection)) if items else iter(())
            results = [
                _result(next(outcomes)) if line.item is not None else _invalid(line.id, line.invalid or "invalid")
                for line in batch
            ]
            writer.write(batch, results)
            scored_now += len(batch)
            elapsed = time.perf_counter() - start
            progress.update(
                task_id, advance=len(batch), rate=scored_now / elapsed if elapsed else 0.0, pass_rate=tally.pass_rate()
            )
        finally:
            in_flight.release()

    complete = False
    with progress:
        task_id = progress.add_task("score", total=total, completed=resumed, rate=0.0, pass_rate=tally.pass_rate())
        try:
            async for batch in _batches(job, intake, done):
                await in_flight.acquire()
                task = asyncio.create_task(score_batch(batch))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
            complete = resumed + scored_now == total
        finally:
            for task in tasks:
                task.cancel()
            writer.close()
    return RunReport(
        tally=tally,
        input_items=total,
        resumed=resumed,
        scored_now=scored_now,
        seconds=time.perf_counter() - start,
        complete=complete,
    )


def summary_tables(report: RunReport, job: OfflineJob) -> list[Table]:
    t = report.tally
    run = Table(title="arbiter score", show_header=False)
    run.add_row("input items", str(report.input_items))
    run.add_row("scored before this run (resumed)", str(report.resumed))
    run.add_row("scored in this run", str(report.scored_now))
    run.add_row("complete", "yes" if report.complete else "no: rerun the same command to resume")
    run.add_row("kept" + (" (accuracy = 1)" if job.keep == "correct" else ""), f"{t.kept} → {job.output}")
    if job.keep == "correct":
        run.add_row("rejected", f"{t.rejected} → {job.rejected}")
    run.add_row("pass rate (accuracy = 1)", t.pass_rate())
    run.add_row("time-outs", str(t.statuses.get("timeout", 0)))
    run.add_row("throughput (this run)", f"{report.throughput:.1f} items/s over {report.seconds:.1f} s")

    statuses = Table(title="items by status")
    statuses.add_column("status")
    statuses.add_column("items", justify="right")
    statuses.add_column("share", justify="right")
    for status, n in sorted(t.statuses.items(), key=lambda kv: -kv[1]):
        statuses.add_row(status, str(n), f"{n / t.total:.1%}" if t.total else "")

    rewards = Table(title="components")
    for column in ("reward", "items", "mean value"):
        rewards.add_column(column, justify="left" if column == "reward" else "right")
    for name in sorted(t.counts):
        rewards.add_row(name, str(t.counts[name]), f"{t.sums[name] / t.counts[name]:.4f}")
    return [run, statuses, rewards]


# ---------------------------------------------------------------- entry point


async def run_job(job: OfflineJob, workers: int | None) -> RunReport:
    """Build the service's own Services in-process, score, tear down."""
    from app.services import Services

    settings = Settings()
    if workers is not None:
        settings = settings.model_copy(
            update={
                "math": settings.math.model_copy(update={"workers": workers}),
                "sandbox": settings.sandbox.model_copy(update={"workers": workers}),
            }
        )
    job = replace(job, max_completion_chars=settings.max_completion_chars)
    services = await Services.start(settings)
    try:
        return await score_file(job, services.pipeline, services.tags)
    finally:
        await services.close()


def main(job: OfflineJob, workers: int | None) -> int:
    console = Console()
    err = Console(stderr=True)
    if not job.input.is_file():
        err.print(f"[red]error:[/red] {job.input}: no such file")
        return 2
    if job.output.resolve() == job.input.resolve():
        err.print("[red]error:[/red] the output must not be the input")
        return 2
    try:
        report = asyncio.run(run_job(job, workers))
    except OfflineError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    except KeyboardInterrupt:
        err.print(f"interrupted: finished items are in {job.output}; rerun the same command to resume")
        return 130
    for table in summary_tables(report, job):
        console.print(table)
    return 0 if report.complete or job.limit is not None else 1


def parse_rewards(profile: str | None, rewards_json: str | None) -> Selection | None:
    """--profile NAME and/or --rewards JSON (the request's `rewards` value); JSON entries override the profile."""
    if rewards_json is None:
        return profile
    try:
        value = json.loads(rewards_json)
    except json.JSONDecodeError as exc:
        raise OfflineError(f"--rewards: not JSON ({exc.msg})") from None
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise OfflineError("--rewards: a profile name or an object of rewards")
    if profile is not None:
        value = {"profile": profile, **value}
    return value
