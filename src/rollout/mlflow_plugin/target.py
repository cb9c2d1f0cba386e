"""The `mlflow.deployments` entry point of the `rollout` target: the client class, `run_local` and
`target_help`, the three things MLflow looks for in a deployments plugin."""

from __future__ import annotations

from typing import Any

from rollout.mlflow_plugin.client import RolloutDeploymentClient
from rollout.mlflow_plugin.location import AZURE_ADVICE, LOCAL_URI

__all__ = ["RolloutDeploymentClient", "run_local", "target_help"]


def run_local(
    name: str, model_uri: str, flavor: str | None = None, config: dict[str, Any] | None = None
) -> None:
    """Deploy `model_uri` on the local emulator: endpoint `name`, deployment `name` with all the
    traffic (what `create_deployment` does without an endpoint), blocking until it answers."""
    RolloutDeploymentClient(LOCAL_URI).create_deployment(name, model_uri, flavor=flavor, config=config)


def target_help() -> str:
    return f"""The rollout target deploys MLflow models to the local emulator of Azure ML managed online
endpoints, with the calls and config files of azureml-mlflow's client. Its target URI is {LOCAL_URI},
the same as the tracking URI (MLFLOW_TRACKING_URI={LOCAL_URI}); the emulator starts on first use.

create_endpoint / update_endpoint take config={{"endpoint-config-file": <JSON or YAML file>}} with
auth_mode (key or aml_token), identity, description, tags, properties, traffic and mirror_traffic
(update_endpoint changes traffic, mirror_traffic and tags).

create_deployment / update_deployment take model_uri="models:/<name>/<version>" and
config={{"deploy-config-file": <JSON or YAML file>}} with instance_type, instance_count,
description, environment_variables, app_insights_enabled, properties, request_settings,
liveness_probe, readiness_probe and scale_settings. model, code_configuration, environment and
endpoint_name are refused, as azureml-mlflow refuses them.

predict(endpoint=..., deployment_name=..., df=... or inputs=...) returns a pandas DataFrame, one
row per input row.

There is no rollout URI for Azure: {AZURE_ADVICE}."""
