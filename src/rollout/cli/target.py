"""`rollout target check`: sign in to the target and read its workspace."""

from __future__ import annotations

import dataclasses

import typer

from rollout.cli.common import Json, ResourceGroup, Subscription, Target, Workspace, connect
from rollout.cli.console import print_json


def register(app: typer.Typer) -> None:
    target_app = typer.Typer(help="The target: where endpoints live.", no_args_is_help=True)
    target_app.command("check")(target_check)
    app.add_typer(target_app, name="target")


def target_check(
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Sign in to the target and read its workspace: which cloud, which workspace, how long the token
    lasts. On Azure, run it right after azure/login: the Azure CLI caches the token for later steps."""
    from rollout.azureml.access import check_access

    access = check_access(connect(target, subscription, resource_group, workspace))
    if as_json:
        print_json({**dataclasses.asdict(access), "token_minutes_left": access.token_minutes_left})
        return
    print(
        f"target {access.target}: {access.location}, workspace {access.workspace}; "
        f"signed in, token valid for {access.token_minutes_left} more minutes"
    )
