"""`rollout doctor`: a read-only preflight of the target and the project, in one table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rollout.cli.common import Json, ProjectPath, ResourceGroup, Subscription, Target, Workspace, project_at
from rollout.cli.console import print_json

if TYPE_CHECKING:
    from rollout.doctor.checks import Diagnosis

Environments = Annotated[
    list[str] | None,
    typer.Option(
        "--environment",
        metavar="NAME",
        help="A GitHub environment whose identity to check against the roles its jobs need "
        "(.github/environments.yml, .github/roles/). Repeat for more. On Azure the signed-in caller "
        "is checked (run it as that environment's identity); on the emulator each identity is. "
        "`pull_requests` is the pull requests' identity (the pull-request check's).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    environment: Environments = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Check, changing nothing, what a release needs: the credential, each environment identity's
    permissions, the lock's container and the data role on it, the live endpoint against the specs
    and the idle slot, and the Azure Monitor metrics the analysis reads. Exits 1 when a check
    fails, with a line of advice for each."""
    from rollout.azureml.connection import Connection
    from rollout.azureml.targets import parse_target
    from rollout.doctor.run import diagnose

    project = project_at(path)
    conn = Connection(
        parse_target(
            target, subscription=subscription, resource_group=resource_group, workspace=workspace, start=False
        )
    )
    diagnosis = diagnose(conn, project, list(environment or []))
    if as_json:
        print_json(diagnosis.to_dict())
    else:
        _print(diagnosis)
    if not diagnosis.healthy:
        raise typer.Exit(1)


def _print(diagnosis: Diagnosis) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rollout doctor: target {diagnosis.target}", title_justify="left")
    for column in ("", "check", "on", "found"):
        table.add_column(column)
    for check in diagnosis.checks:
        table.add_row("ok" if check.ok else "FAIL", check.area, check.subject, check.detail)
    out = Console(highlight=False, width=200)
    out.print(table)
    for check in diagnosis.failures:
        out.print(f"advice: {check.area} {check.subject}: {check.advice}", markup=False)
    failed = len(diagnosis.failures)
    out.print(f"{failed} check(s) failed" if failed else "all checks passed", markup=False)
