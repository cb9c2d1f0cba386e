"""`rollout acceptance`: the packaged acceptance suite against a project's candidate deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rollout.cli.common import ProjectPath, ResourceGroup, Subscription, Target, Workspace, project_at


def acceptance(
    ctx: typer.Context,
    path: ProjectPath = Path("."),
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Endpoint (default: the project's).")
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option("--deployment", help="Candidate deployment (default: the endpoint's candidate)."),
    ] = None,
    live: Annotated[
        str | None, typer.Option("--live", help="Live deployment (default: the endpoint's live one).")
    ] = None,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Run the acceptance suite against the candidate; further arguments go to pytest
    (for example --junitxml=reports/acceptance.xml, -n auto, -k latency)."""
    from rollout.acceptance.launcher import SuiteSubject, run_suite
    from rollout.azureml.targets import parse_target

    project_at(path)  # a missing or broken project ends in one line, before pytest starts
    chosen = parse_target(
        target, subscription=subscription, resource_group=resource_group, workspace=workspace, start=False
    )
    subject = SuiteSubject(path, target, endpoint=endpoint, deployment=deployment, live=live)
    command = subject.command(ctx.args)
    raise typer.Exit(run_suite(command, path, chosen.child_environment()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rollout` app."""
    app.command("acceptance", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
        acceptance
    )
