"""The `rollout` command line: one small module per command group.

Each module exposes `register(app)`. Heavy libraries (azure-ai-ml, mlflow, pandas) are imported
inside the commands that need them, so `rollout --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from typer._click.core import Context
from typer._click.exceptions import ClickException  # typer vendors click
from typer.core import TyperGroup

from rollout import DISTRIBUTION
from rollout.azureml.cloud import CLOUD_ENV
from rollout.azureml.recording.recorder import RECORD_ENV
from rollout.cli import (
    acceptance,
    deployment,
    doctor,
    emulator,
    endpoint,
    github,
    init,
    model,
    recording,
    rehearse,
    release,
    report,
    status,
    target,
    traffic,
    validate,
    workflow,
)
from rollout.core.errors import UserError


class UserErrorExit(ClickException):
    """A UserError as the command line ends it: one `error: <message>` line, its exit code."""

    def __init__(self, error: UserError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file: IO[str] | None = None) -> None:
        print(f"error: {self.format_message()}", file=file or sys.stderr)


class Commands(TyperGroup):
    """The command tree; a UserError from any command (or group callback) becomes a UserErrorExit."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as error:
            raise UserErrorExit(error) from error


app = typer.Typer(
    name="rollout",
    cls=Commands,
    help="Gated blue/green releases of MLflow models to Azure ML managed online endpoints.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"rollout {version(DISTRIBUTION)}")
        raise typer.Exit


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    cloud: Annotated[
        str | None,
        typer.Option(
            "--cloud",
            help="Azure cloud of --target azure: AzureCloud, AzureUSGovernment, AzureChinaCloud, or a "
            "cloud of the ARM_CLOUD_METADATA_URL document (default: $AZUREML_CURRENT_CLOUD, else the "
            "cloud ARM_CLOUD_METADATA_URL names, else AzureCloud).",
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            envvar=RECORD_ENV,
            help="Save every exchange with the target (ARM, Azure Monitor, scoring), secrets and ids "
            "scrubbed, to this directory, this command's and the processes it starts "
            "(see `rollout recording replay`).",
        ),
    ] = None,
) -> None:
    """Gated blue/green releases of MLflow models to Azure ML managed online endpoints."""
    if record:
        # read by this command's clients, and inherited by any process it starts: they record too
        os.environ[RECORD_ENV] = str(record.resolve())
    if cloud:
        # the SDKs' own setting, read by azure-ai-ml and azureml-mlflow alike (the acceptance
        # suite's clients too): every client of this command reaches the same cloud
        os.environ[CLOUD_ENV] = cloud


for _module in (
    init,
    validate,
    model,
    emulator,
    endpoint,
    deployment,
    release,
    rehearse,
    status,
    report,
    traffic,
    acceptance,
    target,
    workflow,
    github,
    doctor,
    recording,
):
    _module.register(app)


def main() -> None:
    try:
        app()
    except Exception as exc:
        message = service_error(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


def service_error(exc: Exception) -> str | None:
    """One line for an error from a service or the network (Azure, the emulator, MLflow), else None.

    Commands turn the errors they expect into UserError; this catches the rest, so that a refused
    request or a dropped connection never ends in a traceback.
    """
    module = type(exc).__module__
    if not module.startswith(("azure.", "httpx", "httpcore", "requests", "urllib3", "mlflow")):
        return None
    from rollout.azureml.sdk import azure_message

    return f"{type(exc).__name__}: {azure_message(exc)}"
