"""`rollout endpoint ...`: the article's `az ml online-endpoint` verbs, one for one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rollout.cli import console
from rollout.cli.common import (
    Json,
    ResourceGroup,
    Subscription,
    Target,
    Workspace,
    apply_split,
    connect,
    invoke_endpoint,
)
from rollout.core.errors import UserError

SpecFile = Annotated[Path, typer.Option("--file", "-f", help="Endpoint spec (az ml CLI v2 YAML).")]
Name = Annotated[str, typer.Option("--name", "-n", help="Endpoint name.")]


def register(app: typer.Typer) -> None:
    endpoint_app = typer.Typer(help="Endpoints (az ml online-endpoint).", no_args_is_help=True)
    for verb, command in (
        ("apply", apply),
        ("create", apply),
        ("show", show),
        ("update", update),
        ("get-credentials", get_credentials),
        ("invoke", invoke),
        ("delete", delete),
    ):
        endpoint_app.command(verb)(command)
    app.add_typer(endpoint_app, name="endpoint")


def apply(
    file: SpecFile,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Create the endpoint, or update it without touching its traffic split."""
    from rollout.azureml.endpoints import apply_endpoint
    from rollout.azureml.sdk import state_name
    from rollout.project.loading import load_endpoint_file

    spec = load_endpoint_file(file)
    endpoint = apply_endpoint(connect(target, subscription, resource_group, workspace).ml, spec, console.say)
    state = state_name(endpoint.provisioning_state)
    if as_json:
        console.print_json({"name": endpoint.name, "state": state, "scoring_uri": endpoint.scoring_uri})
    else:
        print(f"endpoint {endpoint.name}: {state}, scoring uri {endpoint.scoring_uri}")


def show(
    name: Name,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Print the endpoint as JSON."""
    from rollout.azureml.endpoints import get_endpoint

    endpoint = get_endpoint(connect(target, subscription, resource_group, workspace).ml, name)
    # the SDK has no public serialiser; `az ml online-endpoint show` prints the same private one
    console.print_json(endpoint._to_dict())  # type: ignore[attr-defined]


def update(
    name: Name,
    traffic: Annotated[str | None, typer.Option("--traffic", help='e.g. "blue=90 green=10".')] = None,
    mirror_traffic: Annotated[
        str | None, typer.Option("--mirror-traffic", help='e.g. "green=10", or "".')
    ] = None,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Change the traffic or mirror traffic of an endpoint (GET, change, PUT, confirm)."""
    from rollout.azureml.endpoints import mirror_traffic as mirror_of
    from rollout.azureml.endpoints import set_mirror
    from rollout.project.traffic import parse_split

    if traffic is None and mirror_traffic is None:
        raise UserError("nothing to update: give --traffic and/or --mirror-traffic")
    conn = connect(target, subscription, resource_group, workspace)
    if traffic is not None:
        apply_split(traffic, name, conn, as_json)
    if mirror_traffic is not None:
        mirror = parse_split(mirror_traffic) if mirror_traffic.strip() else {}
        updated = set_mirror(conn.ml, name, mirror)
        console.show_split(name, "mirror_traffic", mirror_of(updated), as_json)


def get_credentials(
    name: Name,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Print the endpoint's keys (key auth) or a token (aml_token auth), as az ml does."""
    from rollout.azureml.endpoints import get_endpoint

    ml = connect(target, subscription, resource_group, workspace).ml
    get_endpoint(ml, name)
    keys = ml.online_endpoints.get_keys(name)
    if hasattr(keys, "primary_key"):
        console.print_json({"primaryKey": keys.primary_key, "secondaryKey": keys.secondary_key})
    else:
        console.print_json(
            {"accessToken": keys.access_token, "expiryTimeUtc": getattr(keys, "expiry_time_utc", None)}
        )


def invoke(
    name: Name,
    request_file: Annotated[Path, typer.Option("--request-file", help="JSON request body.")],
    deployment_name: Annotated[str | None, typer.Option("--deployment-name", "-d")] = None,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Score a request (optionally on one deployment, by header) and print the reply."""
    conn = connect(target, subscription, resource_group, workspace)
    raise typer.Exit(invoke_endpoint(name, request_file, deployment_name, conn, as_json))


def delete(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Delete the endpoint and all its deployments."""
    from rollout.azureml.endpoints import get_endpoint
    from rollout.azureml.sdk import sdk_polling_muted

    ml = connect(target, subscription, resource_group, workspace).ml
    get_endpoint(ml, name)
    if not yes and not typer.confirm(f"Delete endpoint {name} and all its deployments?"):
        raise typer.Exit(1)
    with sdk_polling_muted():
        ml.online_endpoints.begin_delete(name=name).result()
    print(f"deleted endpoint {name}")
