"""Adapters that plug Arbiter into trainers: TRL (trl.py), verl (verl.py), OpenRLHF (openrlhf.py), slime (slime.py).

Each module imports its trainer lazily or not at all: they run against `app.client` (httpx + stdlib), so a trainer's
environment needs no server dependencies. The OpenRLHF and slime protocols are also served by the service itself
(app/api/integrations.py), which uses the helpers of `common.py` to read their payloads.
"""
