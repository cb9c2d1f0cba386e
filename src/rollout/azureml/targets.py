"""Targets: where endpoints live and how to reach them.

A `Target` builds the clients of one place: the local emulator (`LocalTarget`) or an Azure ML
workspace (`AzureTarget`). The same `MLClient` code runs against both; nothing outside
`parse_target` asks which one it has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

    from rollout.azureml.metrics_sources import MetricsSource

TARGET_NAMES = ("local", "azure")


class Target(Protocol):
    """Where endpoints live, and the clients that reach them."""

    @property
    def name(self) -> str:
        """The target as `--target` spells it."""
        ...

    def ml_client(self) -> MLClient:
        """A ready `MLClient` for the target's workspace."""
        ...

    def credential(self) -> TokenCredential:
        """The credential the target's `MLClient` uses."""
        ...

    def token_scope(self) -> str:
        """The scope the target's clients ask the credential for (the resource manager's)."""
        ...

    def location(self) -> str:
        """Where the target is, in words: the cloud and its resource manager, or the emulator."""
        ...

    def mlflow_uri(self) -> str:
        """The MLflow tracking/registry URI the target serves models from."""
        ...

    def ca_file(self) -> str | None:
        """The CA file HTTPS clients of the target must trust; None for the system's CAs."""
        ...

    def metrics_source(self, ml: MLClient, endpoint: str) -> MetricsSource:
        """Where canary analysis reads the endpoint's per-deployment numbers."""
        ...

    def blob_account_url(self, account: str, suffix: str) -> str:
        """The URL of a storage account's blob service (`account`, the cloud's storage `suffix`)."""
        ...

    def child_environment(self) -> dict[str, str]:
        """Environment variables that let a child process (`--target <name>`) reach this same target."""
        ...


def parse_target(
    name: str,
    *,
    subscription: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
    start: bool = True,
) -> Target:
    """The target `--target` names: `local` (the emulator, started when `start`) or `azure` (the
    workspace of the options, or of their environment variables)."""
    from rollout.azureml.azure_target import AzureTarget
    from rollout.azureml.local_target import LocalTarget

    if name == "azure":
        return AzureTarget(subscription, resource_group, workspace)
    if name == "local":
        return LocalTarget(start=start)
    raise UserError(f"unknown target '{name}': choose {' or '.join(TARGET_NAMES)}")
