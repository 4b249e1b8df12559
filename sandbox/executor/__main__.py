"""Entry point when the package directory is run as a script: `python3 -I -u /opt/arbiter/executor ...`.

Run that way the directory itself is sys.path[0] and this file has no package, so the parent directory takes its
place and the package is imported by its folder name (`executor`).

The two zygotes (`--zygote FD`, `--harness-zygote FD`) are dispatched here, before the executor's job loop and
everything it imports (languages, kinds, frames ...) is loaded: a zygote is a fresh interpreter that holds only
what its children need, and every page and mapping less makes each of its forks and each child's exit cheaper."""

import os
import sys

if not __package__:
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from executor.entry import main  # type: ignore[import-not-found]
else:
    from .entry import main

sys.exit(main())
