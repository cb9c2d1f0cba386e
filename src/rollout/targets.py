"""Compatibility for `tests/emulator` until its imports move to `rollout.azureml.targets`: the old
function-per-question API over the `Target` objects. Delete once nothing imports it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rollout.azureml.azure_target import AZURE_ENV, AzureTarget
from rollout.azureml.local_target import LocalTarget
from rollout.azureml.targets import Target, parse_target

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

__all__ = ["AZURE_ENV", "azure_scope", "ca_file", "credential", "emulator_url", "ml_client", "registry_uri"]


def _target(name: str, state_dir: Path | str | None) -> Target:
    return parse_target(name, state_dir=state_dir, start=False)


def ml_client(
    target: str = "local",
    *,
    state_dir: Path | str | None = None,
    start: bool = False,
    subscription: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
) -> MLClient:
    return parse_target(
        target,
        subscription=subscription,
        resource_group=resource_group,
        workspace=workspace,
        state_dir=state_dir,
        start=start,
    ).ml_client()


def credential(target: str = "local", *, state_dir: Path | str | None = None) -> TokenCredential:
    return _target(target, state_dir).credential()


def registry_uri(target: str = "local", *, state_dir: Path | str | None = None) -> str:
    return _target(target, state_dir).mlflow_uri()


def ca_file(target: str = "local", *, state_dir: Path | str | None = None) -> str | None:
    return _target(target, state_dir).ca_file()


def emulator_url(*, state_dir: Path | str | None = None) -> str:
    return LocalTarget(Path(state_dir) if state_dir else None).url()


def azure_scope(
    *, subscription: str | None = None, resource_group: str | None = None, workspace: str | None = None
) -> dict[str, str]:
    return AzureTarget(subscription, resource_group, workspace).scope()
