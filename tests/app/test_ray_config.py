"""The Ray Serve config files: deploy/ray/serve.yaml and the KubeRay RayService carry a valid Serve config that
builds the Arbiter application, and the two agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from app.config import Settings
from app.ray_serve import RayServeArgs, build, replica_settings

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / path).read_text())
    return data


def test_serve_yaml_is_a_valid_serve_config_that_builds() -> None:
    config = ServeDeploySchema.model_validate(load("deploy/ray/serve.yaml"))
    [application] = config.applications
    assert application.import_path == "app.ray_serve:build"
    build(application.args)  # the builder accepts the file's args
    [deployment] = application.deployments
    assert deployment.max_replicas_per_node == 1
    assert deployment.autoscaling_config["target_ongoing_requests"] > 0


def test_rayservice_carries_the_same_application() -> None:
    service = load("deploy/kubernetes/rayservice.yaml")
    assert (service["apiVersion"], service["kind"]) == ("ray.io/v1", "RayService")
    embedded = ServeDeploySchema.model_validate(yaml.safe_load(service["spec"]["serveConfigV2"]))
    local = ServeDeploySchema.model_validate(load("deploy/ray/serve.yaml"))
    assert embedded.applications[0].args == local.applications[0].args
    assert embedded.applications[0].deployments == local.applications[0].deployments
    assert service["spec"]["rayClusterConfig"]["rayVersion"] == "2.60.0"


def test_replica_settings_follow_the_replica_cpus() -> None:
    settings = replica_settings(RayServeArgs(), {}, 3.0)
    assert (settings.math.workers, settings.sandbox.workers, settings.sandbox.backend) == (3, 3, "bwrap")
    pinned = replica_settings(RayServeArgs(sandbox_backend="docker"), {"ARBITER_MATH_WORKERS": "1"}, 3.0)
    # ARBITER_MATH_WORKERS given: Settings reads it (not set in this process's env, so its default); untouched.
    assert (pinned.math.workers, pinned.sandbox.workers, pinned.sandbox.backend) == (
        Settings().math.workers,
        3,
        "docker",
    )


def test_args_are_checked() -> None:
    with pytest.raises(ValueError):
        RayServeArgs.model_validate({"part_items": 0})
