"""The executor's command line dispatch: a zygote (light imports only) or the executor's job loop."""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--zygote"]:  # the warm interpreter that forks Python tests (zygote.py)
        from . import zygote
        from .settings import Settings

        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        os.umask(0o022)
        return zygote.serve(Settings(args[2:]), int(args[1]))
    if args[:1] == ["--harness-zygote"]:  # the warm interpreter that forks assert harnesses (harness_zygote.py)
        from . import harness_zygote
        from .settings import Settings

        os.umask(0o022)
        return harness_zygote.serve(Settings(args[2:]), int(args[1]))
    from .main import main as executor_main

    return executor_main(args)
