"""Deployments: provisioning one from its spec (showing its state, printing its logs when it fails),
reading its state, deleting it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NoReturn

from rollout.azureml.sdk import Progress, azure_message, quiet, sdk_polling_muted, state_name
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import OnlineDeployment


def provision_deployment(
    ml: MLClient,
    spec: OnlineDeployment,
    say: Progress = quiet,
    existing: OnlineDeployment | None = None,
    package_model: bool = False,
) -> OnlineDeployment:
    """Create or update a deployment, showing its state while it provisions; logs on failure."""
    from azure.core.exceptions import HttpResponseError

    name, endpoint = spec_names(spec)
    if (
        existing
        and existing.instance_type
        and spec.instance_type
        and existing.instance_type != spec.instance_type
    ):
        say(f"{name}: instance type changes {existing.instance_type} -> {spec.instance_type}; replacing it")
        delete_deployment(ml, name, endpoint)
    try:
        with sdk_polling_muted():
            poller = ml.online_deployments.begin_create_or_update(spec, package_model=package_model)
            began = time.monotonic()
            while not poller.done():
                poller.wait(2)
                say(f"{name}: {deployment_state(ml, name, endpoint)} ({time.monotonic() - began:.0f}s)")
            poller.result()
    except HttpResponseError as exc:
        _fail_with_logs(ml, name, endpoint, azure_message(exc), say)
    state = deployment_state(ml, name, endpoint)
    if state != "Succeeded":
        _fail_with_logs(ml, name, endpoint, f"provisioning ended {state}", say)
    return ml.online_deployments.get(name, endpoint)


def spec_names(spec: OnlineDeployment) -> tuple[str, str]:
    """The deployment's name and its endpoint's, which a spec to provision must give."""
    if not spec.name or not spec.endpoint_name:
        raise UserError(f"deployment spec {spec.name or '(unnamed)'}: needs a name and an endpoint_name")
    return spec.name, spec.endpoint_name


def deployment_state(ml: MLClient, name: str, endpoint: str) -> str:
    try:
        return state_name(ml.online_deployments.get(name, endpoint).provisioning_state)
    except Exception:
        return "Unknown"


def delete_deployment(ml: MLClient, name: str, endpoint: str) -> None:
    """Delete a deployment and wait until it is gone."""
    with sdk_polling_muted():
        ml.online_deployments.begin_delete(name=name, endpoint_name=endpoint).result()


def _fail_with_logs(ml: MLClient, name: str, endpoint: str, reason: str, say: Progress) -> NoReturn:
    try:
        logs = ml.online_deployments.get_logs(name, endpoint, lines=50)
    except Exception as exc:
        logs = f"(logs unavailable: {azure_message(exc)})"
    say(f"--- last log lines of {name} ---\n{logs.rstrip()}\n---")
    raise UserError(f"deployment {name} failed: {reason}")
