"""The `arbiter` command: `arbiter serve` starts the HTTP service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings

    settings = Settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbiter", description="Rule-based reward service for RL on reasoning models.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the HTTP service (settings from ARBITER_* variables)")
    serve.add_argument("--host", help="address to bind (default ARBITER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default ARBITER_PORT, 8000)")
    serve.set_defaults(func=_serve)
    settings = sub.add_parser("settings", help="print every ARBITER_* setting with its default, as a Markdown table")
    settings.set_defaults(func=_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
