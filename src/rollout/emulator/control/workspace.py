"""The one workspace the emulator serves, and the ARM paths under which it lives."""

from __future__ import annotations

from dataclasses import dataclass

PROVIDER = "Microsoft.MachineLearningServices"
WORKSPACE_PATH = (
    "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
    + PROVIDER
    + ("/workspaces/{workspace}")
)
OPERATIONS_PATH = "/subscriptions/{subscription}/providers/" + PROVIDER + "/locations/{location}"


@dataclass(frozen=True)
class Workspace:
    """The one workspace the emulator serves."""

    subscription: str
    resource_group: str
    name: str
    location: str
    workspace_id: str
    registry_uri: str

    @property
    def id(self) -> str:
        return WORKSPACE_PATH.format(
            subscription=self.subscription, resource_group=self.resource_group, workspace=self.name
        )

    def operations_path(self) -> str:
        """Where this workspace's long-running operations are polled."""
        return OPERATIONS_PATH.format(subscription=self.subscription, location=self.location)
