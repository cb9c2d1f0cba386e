"""`rollout status`: the endpoint, its deployments, traffic and mirror, the slots, the last verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rollout.cli import console
from rollout.cli.common import Json, ProjectPath, ResourceGroup, Subscription, Target, Workspace, release_for


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
    missing_ok: Annotated[
        bool,
        typer.Option("--missing-ok", help="An endpoint that does not exist yet is no error: say so."),
    ] = False,
) -> None:
    """Endpoint, deployments, traffic, mirror, live and candidate slots, last verdict."""
    rel = release_for(path, target, subscription, resource_group, workspace)
    if missing_ok and not rel.exists():
        if as_json:
            console.print_json({"endpoint": rel.endpoint_name, "exists": False})
        else:
            typer.echo(f"endpoint {rel.endpoint_name} does not exist yet")
        return
    info = rel.status()
    if as_json:
        console.print_json(info.to_dict())
        return
    console.print_status(info)
