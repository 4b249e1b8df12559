"""The `arbiter` command: `arbiter serve` starts the HTTP service."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings
    from app.observability import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn drains on SIGTERM/SIGINT, then re-raises the signal under the handler that was installed before it
    # started. A no-op handler here makes a completed drain exit 0, so that supervisors (compose, Kubernetes,
    # systemd) see a clean stop rather than death by signal.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        # Logging is configured above (JSON lines); the app writes one line per request, so no uvicorn access log.
        log_config=None,
        access_log=False,
        # SIGTERM: stop accepting, let requests in flight finish for this long, then the lifespan removes the
        # sandbox workers. Orchestrators must wait longer than this before SIGKILL (compose: stop_grace_period).
        # uvicorn annotates an int but waits with asyncio.wait_for, which takes fractional seconds as well.
        timeout_graceful_shutdown=settings.shutdown_grace_s,  # type: ignore[arg-type]
        # One process: the math workers and sandbox pool live in it; scale out with replicas instead.
        workers=1,
    )
    return 0


def _settings(args: argparse.Namespace) -> int:
    from app.config import describe_settings

    print("| variable | default | meaning |\n|---|---|---|")
    for env, default, description in describe_settings():
        print(f"| `{env}` | `{default}` | {description} |")
    return 0


def _score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app import offline

    try:
        rewards = offline.parse_rewards(args.profile, args.rewards)
    except offline.OfflineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    job = offline.OfflineJob(
        input=Path(args.input),
        output=Path(args.output),
        rewards=rewards,
        keep=args.keep,
        fields=offline.Fields(
            id=args.id_field,
            completion=args.completion_field,
            answer=args.answer_field,
            tests=args.tests_field,
            group=args.group_field,
        ),
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        limit=args.limit,
        progress=not args.no_progress,
    )
    return offline.main(job, args.workers)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arbiter", description="Rule-based reward service for RL on reasoning models."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the HTTP service (settings from ARBITER_* variables)")
    serve.add_argument("--host", help="address to bind (default ARBITER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default ARBITER_PORT, 8000)")
    serve.set_defaults(func=_serve)
    settings = sub.add_parser("settings", help="print every ARBITER_* setting with its default, as a Markdown table")
    settings.set_defaults(func=_settings)
    score = sub.add_parser(
        "score",
        help="score a JSONL file offline (rejection sampling), in-process, resumable",
        description="Score every line of INPUT with the service's rewards and write OUTPUT. Interrupted runs "
        "resume: rerun the same command and finished lines are skipped.",
    )
    score.add_argument("input", help="JSONL input, one item per line")
    score.add_argument("-o", "--output", required=True, help="JSONL output; also the journal that resuming reads")
    score.add_argument("--profile", help="reward profile (r1-zero, r1, dapo, open-r1); default r1-zero")
    score.add_argument(
        "--rewards",
        help="JSON like the request's rewards, e.g. '{\"length\": {}}'; "
        "with --profile its entries override the profile's",
    )
    score.add_argument(
        "--keep",
        choices=["all", "correct"],
        default="all",
        help="correct: write only items whose accuracy is 1 (the rest go to OUTPUT.rejected.jsonl)",
    )
    score.add_argument("--workers", type=_positive, help="math and sandbox workers (default: cores)")
    score.add_argument("--batch-size", type=_positive, default=64, help="items per pipeline call (default 64)")
    score.add_argument("--concurrency", type=_positive, default=4, help="batches in flight (default 4)")
    score.add_argument("--limit", type=_positive, help="score at most N new items, then stop (resumable)")
    score.add_argument("--id-field", default="id", help="field holding the item id (default id; absent: line number)")
    score.add_argument("--completion-field", default="completion", help="field holding the completion")
    score.add_argument("--answer-field", default="answer", help="field holding the math reference answer")
    score.add_argument("--tests-field", default="tests", help="field holding the code tests (object or JSON string)")
    score.add_argument("--group-field", default="group", help="field holding the prompt id of a GRPO group")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    score.set_defaults(func=_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
