"""`rollout deployment ...`: the article's `az ml online-deployment` verbs, one for one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rollout.cli import console
from rollout.cli.common import Json, ResourceGroup, Subscription, Target, Workspace, connect
from rollout.core.errors import UserError

Name = Annotated[str, typer.Option("--name", "-n", help="Deployment name.")]
EndpointName = Annotated[str, typer.Option("--endpoint-name", "-e", help="Endpoint name.")]


def register(app: typer.Typer) -> None:
    deployment_app = typer.Typer(help="Deployments (az ml online-deployment).", no_args_is_help=True)
    deployment_app.command("create")(create)
    deployment_app.command("get-logs")(get_logs)
    deployment_app.command("delete")(delete)
    app.add_typer(deployment_app, name="deployment")


def create(
    file: Annotated[Path, typer.Option("--file", "-f", help="Deployment spec (az ml CLI v2 YAML).")],
    all_traffic: Annotated[
        bool, typer.Option("--all-traffic", help="Give it 100% of traffic when ready.")
    ] = False,
    package_model: Annotated[
        bool,
        typer.Option("--package-model", help="Package the model (for endpoints without outbound access)."),
    ] = False,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Create or update a deployment from its spec; show progress; print logs when it fails.
    Refused for a deployment that takes live or mirrored traffic: its users would be served what
    the update brings, unreleased (deploy into the idle slot and release it instead)."""
    from rollout.azureml.deployments import provision_deployment, spec_names
    from rollout.azureml.endpoints import get_endpoint, live_traffic, mirror_traffic, set_traffic
    from rollout.azureml.sdk import state_name
    from rollout.project.loading import load_deployment_file

    spec = load_deployment_file(file)
    name, endpoint = spec_names(spec)
    ml = connect(target, subscription, resource_group, workspace).ml
    current = get_endpoint(ml, endpoint)
    existing = {d.name: d for d in ml.online_deployments.list(endpoint)}.get(name)
    share = live_traffic(current).get(name, 0) or mirror_traffic(current).get(name, 0)
    if existing is not None and share:
        raise UserError(
            f"{name} takes {share}% of the traffic of {endpoint}: rollout does not update a deployment "
            "that serves users; deploy into the idle slot (`rollout deploy`) and release it in stages"
        )
    deployment = provision_deployment(ml, spec, console.say, existing, package_model=package_model)
    state = state_name(deployment.provisioning_state)
    if all_traffic:
        set_traffic(ml, endpoint, {name: 100})
    if as_json:
        console.print_json(
            {
                "name": deployment.name,
                "endpoint": spec.endpoint_name,
                "state": state,
                "all_traffic": all_traffic,
            }
        )
        return
    print(f"deployment {deployment.name}: {state}")
    if all_traffic:
        print(f"traffic of {spec.endpoint_name}: {spec.name}=100")


def get_logs(
    name: Name,
    endpoint_name: EndpointName,
    lines: Annotated[int, typer.Option("--lines", "-l", help="How many lines.")] = 100,
    container: Annotated[
        str | None, typer.Option("--container", help="inference-server (default) or storage-initializer.")
    ] = None,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Print the deployment's recent container log."""
    from azure.core.exceptions import ResourceNotFoundError

    ml = connect(target, subscription, resource_group, workspace).ml
    try:
        print(ml.online_deployments.get_logs(name, endpoint_name, lines=lines, container_type=container))
    except ResourceNotFoundError as exc:
        raise UserError(f"no deployment {name} on endpoint {endpoint_name}") from exc


def delete(
    name: Name,
    endpoint_name: EndpointName,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Delete a deployment; refused while it still takes live or mirrored traffic."""
    from rollout.azureml.deployments import delete_deployment
    from rollout.azureml.endpoints import deployment_names, get_endpoint, live_traffic, mirror_traffic

    ml = connect(target, subscription, resource_group, workspace).ml
    endpoint = get_endpoint(ml, endpoint_name)
    name = name.lower()
    if name not in deployment_names(ml, endpoint_name):
        raise UserError(f"no deployment {name} on endpoint {endpoint_name}")
    share = live_traffic(endpoint).get(name, 0) or mirror_traffic(endpoint).get(name, 0)
    if share:
        raise UserError(f"{name} still takes {share}% of traffic; move its traffic away first")
    if not yes and not typer.confirm(f"Delete deployment {name} of {endpoint_name}?"):
        raise typer.Exit(1)
    delete_deployment(ml, name, endpoint_name)
    print(f"deleted deployment {name}")
