"""JavaScript on Node.js: `node main.js`. V8 reserves a large virtual cage, so the memory limit is
--max-old-space-size plus RLIMIT_DATA with headroom, not RLIMIT_AS; "heap out of memory" is MLE.

Assert tests (HumanEval-X): Node's console.assert only prints, so the test's `console.assert(` calls are bound to
a function of ours that throws, declared before the program (a program cannot redefine a const); after the test
script's last line the harness reports the nonce, so process.exit(0) in the program does not pass.
"""

from __future__ import annotations

import os

from ..kinds.base import TestKind
from ..settings import Settings
from .base import NONCE_PATH, REPORT_PATH, Build, Language

PRELUDE = (
    "const __arbiterFs = require('fs');\n"
    "const __arbiterAssert = (ok, ...msg) => { if (!ok) throw new Error('Assertion failed' "
    "+ (msg.length ? ': ' + msg.join(' ') : '')); };\n"
)
REPORT = (
    "\n;__arbiterFs.writeSync(__arbiterFs.openSync('" + REPORT_PATH + "', 'w'), JSON.stringify({ok: true, nonce: "
    "__arbiterFs.readFileSync('" + NONCE_PATH + "', 'ascii')}));\n"
)


class JavaScript(Language):
    name = "javascript"
    source_name = "main.js"
    toolchain = "/usr/bin/node"
    version_argv = ("/usr/bin/node", "--version")
    install_hint = "apt-get install -y nodejs"
    address_space_limit = False
    data_overhead_mb = 256
    oom_markers = ("heap out of memory", "Fatal process out of memory")
    cpu_multiplier = 1.0

    def prepare(self, src_dir: str, build_dir: str, source: str) -> Build:
        return self._write(
            src_dir, build_dir, {self.source_name: source}, entry=os.path.join(src_dir, self.source_name)
        )

    def prepare_assert(self, src_dir: str, build_dir: str, source: str, test_code: str) -> Build:
        script = PRELUDE + source + "\n;\n" + test_code.replace("console.assert(", "__arbiterAssert(") + REPORT
        return self._write(
            src_dir, build_dir, {self.source_name: script}, entry=os.path.join(src_dir, self.source_name)
        )

    def run_argv(self, build: Build, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        return [self.toolchain, f"--max-old-space-size={max(16, memory_mb - 64)}", build.entry]
