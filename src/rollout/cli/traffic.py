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
    connect,
    project_at,
)

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
        endpoint or project_at(path).endpoint.name,
        connect(target, subscription, resource_group, workspace),
        as_json,
    )


def apply_split(text: str, name: str, conn, as_json: bool = False) -> None:
    """Shared by `rollout traffic set` and `rollout endpoint update --traffic`."""
    from rollout import traffic

    split = traffic.parse_split(text)
    traffic.get_endpoint(conn.ml, name)
    deployments = {d.name for d in conn.ml.online_deployments.list(name)}
    traffic.check_split(split, deployments)
    updated = traffic.set_traffic(conn.ml, name, split)
    show(name, "traffic", traffic.live_traffic(updated), as_json)


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
    from rollout import traffic
    from rollout.errors import UserError

    name = endpoint or project_at(path).endpoint.name
    conn = connect(target, subscription, resource_group, workspace)
    wanted = traffic.parse_split(mirror)
    if len(wanted) != 1:
        raise UserError("mirror traffic goes to exactly one deployment, e.g. green=10")
    ((deployment, percent),) = wanted.items()
    if percent > 50:
        raise UserError(f"mirror traffic is at most 50%, not {percent}")
    if traffic.live_traffic(traffic.get_endpoint(conn.ml, name)).get(deployment):
        raise UserError(
            f"{deployment} takes live traffic; only a deployment without live traffic can be mirrored to"
        )
    deployments = {d.name for d in conn.ml.online_deployments.list(name)}
    if deployment not in deployments:
        raise UserError(
            f"no deployment named {deployment} (deployments: {', '.join(sorted(deployments)) or 'none'})"
        )
    updated = traffic.set_mirror(conn.ml, name, wanted)
    show(name, "mirror_traffic", traffic.mirror_traffic(updated), as_json)


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
    from rollout import traffic

    name = endpoint or project_at(path).endpoint.name
    traffic.set_mirror(connect(target, subscription, resource_group, workspace).ml, name, {})
    show(name, "mirror_traffic", {}, as_json)


def show(endpoint: str, what: str, split: dict[str, int], as_json: bool) -> None:
    """The endpoint's traffic or mirror traffic after a change, as a line or as JSON."""
    from rollout.reporting import print_json

    if as_json:
        print_json({"endpoint": endpoint, what: split})
    else:
        shown = " ".join(f"{k}={v}" for k, v in split.items()) or (
            "off" if what == "mirror_traffic" else "none"
        )
        print(f"{what.replace('_', ' ')} of {endpoint}: {shown}")
