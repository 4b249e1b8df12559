"""Named reward profiles: the reward mixes of the papers trainers reproduce, selectable by one name.

A request's `rewards` takes one of three forms (see Pipeline.resolve and docs/rewards.md):

- absent: the `r1-zero` profile;
- a profile name: `"dapo"`;
- an object of rewards and their parameters: `{"format": {}, "accuracy": {"weight": 2}}`, which may start from a
  profile with the reserved key `profile`: `{"profile": "dapo", "overlong": {"max_len": 8192}}`. Each named
  reward's parameters are merged over the profile's (key by key), and rewards the profile lacks are added.

Profiles are data, not code: each is the selection a client could have written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: The key of a rewards object that names the profile its other keys override.
PROFILE_KEY = "profile"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    #: Reward name → parameters, in the order components are reported.
    rewards: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _profile(name: str, description: str, rewards: dict[str, dict[str, Any]]) -> Profile:
    frozen = {reward: MappingProxyType(params) for reward, params in rewards.items()}
    return Profile(name=name, description=description, rewards=MappingProxyType(frozen))


DEFAULT_PROFILE = "r1-zero"

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        p.name: p
        for p in (
            _profile(
                "r1-zero",
                "DeepSeek-R1-Zero (arXiv:2501.12948): accuracy + format, summed. The default.",
                {"accuracy": {"weight": 1.0}, "format": {"weight": 1.0}},
            ),
            _profile(
                "r1",
                "DeepSeek-R1 reasoning RL: R1-Zero's rewards plus language consistency (share of target-language "
                "words in the reasoning), all summed as in the paper; target `en` unless the item or request sets one.",
                {"accuracy": {"weight": 1.0}, "format": {"weight": 1.0}, "language": {"weight": 1.0}},
            ),
            _profile(
                "dapo",
                "DAPO (arXiv:2503.14476): accuracy as +1/-1 (wrong_value -1) plus the soft overlong punishment "
                "with the paper's 20480-token limit and 4096-token cache; no format reward.",
                {
                    "accuracy": {"weight": 1.0, "wrong_value": -1.0},
                    "overlong": {"weight": 1.0, "max_len": 20480, "cache": 4096},
                },
            ),
            _profile(
                "open-r1",
                "Hugging Face open-r1 GRPO recipe: accuracy + format + tag_count (partial credit per tag), weight 1 each.",
                {"accuracy": {"weight": 1.0}, "format": {"weight": 1.0}, "tag_count": {"weight": 1.0}},
            ),
        )
    }
)
