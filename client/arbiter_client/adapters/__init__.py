"""Adapters that plug Arbiter into trainers: TRL (trl.py), verl (verl.py), OpenRLHF (openrlhf.py), slime (slime.py).

Each imports its trainer lazily or not at all and runs on `arbiter_client` (httpx + stdlib), so a trainer's
environment needs nothing of the server. `common.py` reads the trainers' payload shapes (completions, labels,
dataset columns); `env.py` reads the ARBITER_* variables the module-level entry points are configured by.
"""
