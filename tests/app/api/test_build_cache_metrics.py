"""The build cache through the service: a GRPO group of identical C++ completions in one request and the same
program in a later request compile once, and /metrics says so (bubblewrap sandbox)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

PROGRAM = '#include <iostream>\nint main(){long long n;std::cin>>n;std::cout<<2*n<<"\\n";}\n'


def cpp_item(id_: str, n: int) -> dict[str, Any]:
    completion = f"<think>t</think><answer>```cpp\n{PROGRAM}```</answer>"
    reference = {"language": "cpp", "tests": [{"input": f"{n}\n", "output": f"{2 * n}\n"}]}
    return {"id": id_, "completion": completion, "reference": reference}


def metric(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


@pytest.mark.bwrap
def test_repeated_programs_compile_once_and_metrics_count_it() -> None:
    settings = Settings(
        max_items=8,
        max_items_in_flight=8,
        math=MathSettings(workers=1),
        sandbox=SandboxSettings(backend="bwrap", workers=2),
    )
    with TestClient(create_app(settings)) as client:
        group = {"items": [cpp_item(str(i), i) for i in range(4)], "rewards": {"accuracy": {}}}
        first = client.post("/v1/score", json=group).json()
        assert [r["reward"] for r in first["results"]] == [1.0] * 4, first
        later = {"items": [cpp_item("later", 21)], "rewards": {"accuracy": {}}}
        assert client.post("/v1/score", json=later).json()["results"][0]["reward"] == 1.0
        text = client.get("/metrics").text
    assert metric(text, "arbiter_sandbox_compiles_total") == 1.0
    assert metric(text, "arbiter_sandbox_build_cache_hits_total") == 4.0
    assert metric(text, "arbiter_sandbox_build_cache_shared_total") == 3.0
    assert metric(text, "arbiter_sandbox_build_cache_entries") == 1.0
    assert metric(text, "arbiter_sandbox_build_cache_bytes") > 1000
