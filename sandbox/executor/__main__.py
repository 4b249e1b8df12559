"""Entry point when the package directory is run as a script: `python3 -I -u /opt/arbiter/executor ...`.

Run that way the directory itself is sys.path[0] and this file has no package, so the parent directory takes its
place and the package is imported by its folder name (`executor`)."""

import os
import sys

if not __package__:
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from executor.main import main  # type: ignore[import-not-found]
else:
    from .main import main

sys.exit(main())
