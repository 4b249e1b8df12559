"""Arbiter's executor: the only code that runs inside an isolation boundary (bubblewrap sandbox or container).

STDLIB-ONLY PACKAGE: it is copied into the sandbox image (/opt/arbiter/executor) and bound read-only into bwrap
sandboxes, where nothing but the standard library exists; it must never import the service's packages. Every
module uses relative imports so that it works as `executor` inside the boundary and as `sandbox.executor` in
the service (which reads the language table and the verdict codes from here: one owner for each).

Layout:
    __main__.py      entry point: `python3 -I -u /opt/arbiter/executor --workroot /tmp ...`
    entry.py         its dispatch: a zygote (`--zygote`, `--harness-zygote`: light imports only) or the job loop
    frames.py        length-prefixed JSON framing on the protocol fds
    settings.py      the executor's command line
    verdicts.py      verdict codes, their priority, and the classification of a finished process
    limits.py        what a child does between fork and exec: process group, fds, privileges, rlimits
    process.py       start one process and supervise it (stdin feed, capped output, wall clock)
    cleanup.py       kill what a test left behind, remove its files
    pyharness.py     the warm Python interpreter's child side (fork "zygote"): __main__ semantics, harnesses
    harness_zygote.py  the warm interpreter that forks the test side (harness) of Python assert tests
    warm_server.py   what zygote.py and harness_zygote.py share: starting, checking and killing one, messages
    languages/       one module per language: source file, compile and run commands, limit quirks
    kinds/           one module per test kind: what the program gets, what the harness must report
    digest.py        sha256 of this package (the image records it; the Docker backend refuses a stale image)
    main.py          the job loop
"""
