"""Options every target-facing command shares, and turning them into a connection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rollout.errors import UserError

if TYPE_CHECKING:
    from rollout.connection import Connection
    from rollout.release import Release
    from rollout.specs import Project

TARGETS = ("local", "azure")

Target = Annotated[
    str, typer.Option("--target", envvar="ROLLOUT_TARGET", help="local (the emulator, default) or azure.")
]
Subscription = Annotated[
    str | None, typer.Option(envvar="AZURE_SUBSCRIPTION_ID", help="Azure subscription id.")
]
ResourceGroup = Annotated[
    str | None, typer.Option(envvar="AZURE_RESOURCE_GROUP", help="Azure resource group.")
]
Workspace = Annotated[str | None, typer.Option(envvar="AZUREML_WORKSPACE", help="Azure ML workspace.")]
ProjectPath = Annotated[Path, typer.Option("--path", help="Project root (holds endpoints/, deployments/).")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def connect(
    target: str,
    subscription: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
) -> Connection:
    from rollout.connection import Connection

    if target not in TARGETS:
        raise UserError(f"unknown target '{target}': choose local or azure")
    if target == "azure":
        return Connection(
            target, {"subscription": subscription, "resource_group": resource_group, "workspace": workspace}
        )
    return Connection(target, {"start": True})


def project_at(path: Path) -> Project:
    from rollout.specs import load_project

    return load_project(path)


def release_for(
    path: Path, target: str, subscription: str | None, resource_group: str | None, workspace: str | None
) -> Release:
    from rollout.release import Release
    from rollout.reporting import say

    return Release(connect(target, subscription, resource_group, workspace), project_at(path), progress=say)
