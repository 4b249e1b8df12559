"""Arbiter on Ray Serve (app/ray_serve.py) on a real local two-node Ray cluster (ray.cluster_utils.Cluster).

One replica per node (1 CPU each, max_replicas_per_node=1), bwrap sandboxes, parts of 8 items. Shows: one large
batch is scored by both replicas, in request order; the HTTP client works against the Serve proxy unchanged; a
node removed while a batch is in flight loses no item. Bounded: the cluster starts once for the module.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray
from ray import serve
from ray.cluster_utils import Cluster

from app.ray_serve import REPLICAS_HEADER, ArbiterReplica, RayServeArgs
from arbiter_client import ArbiterClient
from arbiter_client.adapters.verl import VerlScorer
from arbiter_client.ray_handle import RayArbiterClient

pytestmark = [pytest.mark.slow, pytest.mark.bwrap]

ROOT = Path(__file__).resolve().parents[2]
R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"
GOOD = "print(int(input()) * 2)"
BAD = "print(int(input()) + 1)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def code_batch(n_groups: int, size: int, sleep_s: float = 0.0) -> list[dict[str, Any]]:
    """GRPO-shaped code items: groups of `size`, interleaved (group k's items are not contiguous), half right."""
    items = []
    for j in range(size):
        for k in range(n_groups):
            program = GOOD if (j + k) % 2 == 0 else BAD
            if sleep_s:
                program = f"import time\ntime.sleep({sleep_s})\n{program}"
            items.append(
                {
                    "id": f"g{k}-{j}",
                    "group": f"g{k}",
                    "completion": R1.format(f"```python\n{program}\n```"),
                    "reference": {"tests": [{"input": f"{k + 2}\n", "output": f"{(k + 2) * 2}\n"}]},
                }
            )
    return items


def expected_rewards(items: list[dict[str, Any]]) -> list[float]:
    return [1.0 if GOOD in item["completion"] else 0.0 for item in items]


DEPLOYMENT: list[Any] = []


def deploy(deployment: Any, replicas: int) -> None:
    DEPLOYMENT[:] = [deployment]
    app = deployment.options(num_replicas=replicas).bind(RayServeArgs(part_items=8))
    serve.run(app, name="arbiter", route_prefix="/")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Cluster, Any, str]]:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address)
    try:  # the cluster goes down even when the deployment fails: a cluster left running would be joined by later tests
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        env = {"ARBITER_MATH_WORKERS": "1", "ARBITER_SANDBOX_WORKERS": "1", "ARBITER_LOG_LEVEL": "warning"}
        deployment = ArbiterReplica.options(  # type: ignore[attr-defined]
            num_replicas=2,
            autoscaling_config=None,
            ray_actor_options={"num_cpus": 1, "runtime_env": {"env_vars": env}},
            health_check_period_s=2,
            graceful_shutdown_timeout_s=10,
        )
        deploy(deployment, 2)
        yield cluster, worker, url_of(port)
    finally:
        serve.shutdown()
        ray.shutdown()
        cluster.shutdown()


def url_of(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def replica_nodes(response: httpx.Response) -> set[str]:
    return {replica.split("@")[1] for replica in response.headers[REPLICAS_HEADER].split(",")}


def test_two_replicas_on_two_nodes_share_one_batch(cluster: tuple[Cluster, Any, str]) -> None:
    _, _, url = cluster
    items = code_batch(n_groups=8, size=6)  # 48 items in 8 groups: 6 parts of 8
    nodes: set[str] = set()
    for _ in range(3):  # the router picks replicas by queue length; 6 parallel parts reach both at once
        response = httpx.post(
            f"{url}/v1/score", json={"items": items, "rewards": {"accuracy": {}}, "advantages": {}}, timeout=120
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["id"] for r in results] == [item["id"] for item in items]  # request order
        assert [r["status"] for r in results] == ["ok"] * len(items), results
        assert [r["reward"] for r in results] == expected_rewards(items)
        # Group advantages come out as if scored in one place: each group is half right.
        assert all(abs(abs(r["advantage"]) - 0.9129) < 1e-3 for r in results), results
        nodes |= replica_nodes(response)
        if len(nodes) == 2:
            break
    assert len(nodes) == 2, f"both replicas should have scored parts: {nodes}"


def test_small_batches_and_errors_keep_the_contract(cluster: tuple[Cluster, Any, str]) -> None:
    _, _, url = cluster
    small = httpx.post(f"{url}/v1/score", json={"items": code_batch(1, 2), "rewards": {"accuracy": {}}}, timeout=60)
    assert small.status_code == 200 and REPLICAS_HEADER not in small.headers
    bad = code_batch(4, 4)
    bad[13]["reference"] = {"tests": []}
    invalid = httpx.post(f"{url}/v1/score", json={"items": bad}, timeout=60)
    assert invalid.status_code == 422
    assert "items.13" in invalid.json()["detail"]  # the index in the request as sent, not in a part
    assert httpx.get(f"{url}/readyz", timeout=10).json()["sandbox"]["backend"] == "bwrap"


def test_the_http_client_works_unchanged(cluster: tuple[Cluster, Any, str]) -> None:
    _, _, url = cluster
    items = code_batch(n_groups=5, size=4)
    with ArbiterClient(url, chunk_size=12) as client:
        assert client.ready()
        results = client.score(items, rewards={"accuracy": {}})
    assert [r.id for r in results] == [item["id"] for item in items]
    assert [r.reward for r in results] == expected_rewards(items)


def test_trainer_adapters_work_unchanged(cluster: tuple[Cluster, Any, str]) -> None:
    """verl's batch reward function (through the HTTP client) and OpenRLHF's /get_reward, against the proxy."""
    _, _, url = cluster
    solutions = [R1.format(f"\\boxed{{{v}}}") for v in (42, 41) * 20]  # 40 items: split into parts of 8

    async def verl_batch() -> list[dict[str, float]]:
        scorer = VerlScorer(url)
        try:
            return await scorer.compute_score_batch(
                ["openai/gsm8k"] * 40,
                solutions,
                ["42"] * 40,
                [{"uid": f"p{i // 8}"} for i in range(40)],
                rewards={"accuracy": {}},
                components=["accuracy"],
            )
        finally:
            await scorer.aclose()

    scores = asyncio.run(verl_batch())
    assert [s["score"] for s in scores] == [1.0, 0.0] * 20
    assert all(s["arbiter_judged"] == 1.0 for s in scores)
    prompt = "<|user|>What is 6*7?<|assistant|>"
    body = {"query": [prompt + c for c in solutions[:4]], "prompts": [prompt] * 4, "labels": ["42"] * 4}
    reply = httpx.post(f"{url}/get_reward", json={**body, "rewards": {"accuracy": {}}}, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json()["rewards"] == [1.0, 0.0, 1.0, 0.0]


def test_in_cluster_handle_client_gives_the_same_results(cluster: tuple[Cluster, Any, str]) -> None:
    _, _, url = cluster
    items = code_batch(n_groups=6, size=4)
    payload = {"items": items, "rewards": {"accuracy": {}}, "advantages": {}}
    over_http = httpx.post(f"{url}/v1/score", json=payload, timeout=120).json()["results"]
    client = RayArbiterClient(app_name="arbiter", part_items=8)
    through_handle = client.score(items, rewards={"accuracy": {}}, advantages={})
    keys = ("id", "reward", "components", "status", "advantage")  # details hold timings, which vary
    assert [[r[k] for k in keys] for r in through_handle] == [[r[k] for k in keys] for r in over_http]


def test_downscale_drains_the_batch_in_flight(cluster: tuple[Cluster, Any, str]) -> None:
    """Going from 2 replicas to 1 while a split batch is in flight: the replica that goes finishes its parts (and
    the request, if it is the ingress) before its engine closes. No retries allowed: nothing may be dropped."""
    _, _, url = cluster
    items = code_batch(n_groups=6, size=4, sleep_s=0.25)  # 3 parts, ~2 s each
    out: dict[str, Any] = {}

    def score() -> None:
        with ArbiterClient(url, chunk_size=len(items), max_retries=0, deadline_s=120) as client:
            out["results"] = client.score(items, rewards={"accuracy": {}})

    thread = threading.Thread(target=score)
    thread.start()
    time.sleep(1.0)
    deploy(DEPLOYMENT[0], 1)
    thread.join(120)
    assert [r.status for r in out["results"]] == ["ok"] * len(items)
    assert [r.reward for r in out["results"]] == expected_rewards(items)
    deploy(DEPLOYMENT[0], 2)  # back to one replica per node for the next test


def test_a_node_removed_mid_batch_loses_no_item(cluster: tuple[Cluster, Any, str]) -> None:
    ray_cluster, worker, url = cluster
    items = code_batch(n_groups=8, size=6, sleep_s=0.25)  # 6 parts, ~2 s each on one sandbox worker
    out: dict[str, Any] = {}

    def score() -> None:
        with ArbiterClient(url, chunk_size=len(items), deadline_s=240) as client:
            out["results"] = client.score(items, rewards={"accuracy": {}})

    thread = threading.Thread(target=score)
    thread.start()
    time.sleep(2.5)  # parts are in flight on both replicas
    ray_cluster.remove_node(worker)
    thread.join(240)
    assert not thread.is_alive(), "the batch never finished after the node went away"
    results = out["results"]
    assert [r.id for r in results] == [item["id"] for item in items]
    assert [r.status for r in results] == ["ok"] * len(items), [r.reason for r in results if r.status != "ok"]
    assert [r.reward for r in results] == expected_rewards(items)
