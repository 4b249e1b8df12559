"""The adapters' one configuration channel that reaches every trainer worker: environment variables.

verl loads a reward function into each Ray worker, OpenRLHF and slime import a file: none hands the function a
client configuration, so the module-level entry points build their client from

- `ARBITER_URL`: one base URL, or several separated by commas (spread round-robin, failed over);
- `ARBITER_API_KEY` (optional), `ARBITER_DEADLINE_S` (default 300), `ARBITER_FALLBACK_REWARD` (default 0);
- for adapters called once per rollout (verl): `ARBITER_BATCH_WINDOW_S` (default 0.005), how long concurrent
  calls are collected into one request, and `ARBITER_BATCH_MAX_ITEMS` (default 512), the most per request
  (1 sends one request per rollout).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def client_options_from_env(environ: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, Any]]:
    """(base URLs, client options) from ARBITER_* variables; adapters always use `errors="fallback"`, so that
    one bad dataset row cannot stop a run."""
    env = os.environ if environ is None else environ
    urls = [u.strip() for u in env.get("ARBITER_URL", DEFAULT_URL).split(",") if u.strip()]
    options: dict[str, Any] = {"errors": "fallback"}
    if env.get("ARBITER_API_KEY"):
        options["api_key"] = env["ARBITER_API_KEY"]
    for name, key in (("ARBITER_DEADLINE_S", "deadline_s"), ("ARBITER_FALLBACK_REWARD", "fallback_reward")):
        if env.get(name):
            try:
                options[key] = float(env[name])
            except ValueError:
                raise ValueError(f"{name}={env[name]!r} is not a number") from None
    return urls or [DEFAULT_URL], options


def batching_from_env(environ: Mapping[str, str] | None = None) -> tuple[float, int]:
    """(window_s, max_items) of the micro-batcher from ARBITER_BATCH_WINDOW_S and ARBITER_BATCH_MAX_ITEMS."""
    env = os.environ if environ is None else environ
    try:
        window_s = float(env.get("ARBITER_BATCH_WINDOW_S") or 0.005)
        max_items = int(env.get("ARBITER_BATCH_MAX_ITEMS") or 512)
    except ValueError:
        raise ValueError("ARBITER_BATCH_WINDOW_S is a number of seconds, ARBITER_BATCH_MAX_ITEMS an integer") from None
    return window_s, max_items
