"""`rollout traffic set` and `rollout mirror set|off`: change the split, confirmed by re-reading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rollout.cli.common import (
    Json,
    ProjectPath,
    ResourceGroup,
    Subscription,
    Target,
    Workspace,
    apply_split,
    connect,
    project_at,
)
from rollout.cli.console import show_split

EndpointName = Annotated[str | None, typer.Option("--endpoint", help="Endpoint name (default: the spec's).")]


def register(app: typer.Typer) -> None:
    traffic_app = typer.Typer(help="Live traffic split.", no_args_is_help=True)
    traffic_app.command("set")(traffic_set)
    mirror_app = typer.Typer(help="Mirror (shadow) traffic.", no_args_is_help=True)
    mirror_app.command("set")(mirror_set)
    mirror_app.command("off")(mirror_off)
    app.add_typer(traffic_app, name="traffic")
    app.add_typer(mirror_app, name="mirror")


def traffic_set(
    split: Annotated[str, typer.Argument(help='The split, e.g. "blue=90 green=10".')],
    endpoint: EndpointName = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Set the live traffic split (percents adding up to 100, or all 0)."""
    apply_split(
        split,
        endpoint or project_at(path).endpoint_name,
        connect(target, subscription, resource_group, workspace),
        as_json,
    )


def mirror_set(
    mirror: Annotated[str, typer.Argument(help='One deployment and percent, e.g. "green=10".')],
    endpoint: EndpointName = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Mirror a share of live traffic to a deployment (at most one, at most 50%, not a live one)."""
    from rollout.azureml.endpoints import (
        deployment_names,
        get_endpoint,
        live_traffic,
        mirror_traffic,
        set_mirror,
    )
    from rollout.project.traffic import check_mirror, check_mirror_deployment, parse_split

    name = endpoint or project_at(path).endpoint_name
    conn = connect(target, subscription, resource_group, workspace)
    wanted = parse_split(mirror)
    check_mirror(wanted)
    check_mirror_deployment(
        wanted, live_traffic(get_endpoint(conn.ml, name)), deployment_names(conn.ml, name)
    )
    updated = set_mirror(conn.ml, name, wanted)
    show_split(name, "mirror_traffic", mirror_traffic(updated), as_json)


def mirror_off(
    endpoint: EndpointName = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Stop mirroring."""
    from rollout.azureml.endpoints import set_mirror

    name = endpoint or project_at(path).endpoint_name
    set_mirror(connect(target, subscription, resource_group, workspace).ml, name, {})
    show_split(name, "mirror_traffic", {}, as_json)
