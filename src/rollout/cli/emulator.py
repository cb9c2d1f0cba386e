"""`rollout emulator` commands: start, stop, status, serve, env, identity, quota."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from rollout.core import paths
from rollout.core.errors import UserError

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Where the emulator keeps its state (default: .rollout/emulator)."),
]
RegistryUri = Annotated[
    str | None,
    typer.Option(
        "--registry-uri",
        help="MLflow registry the models come from (default: the one it served last, else the local one).",
    ),
]
Port = Annotated[
    int | None,
    typer.Option(
        "--port",
        help="HTTPS port on 127.0.0.1 (default: the one this state directory served on last, if free; "
        "else a free one).",
    ),
]
Timing = Annotated[
    str | None,
    typer.Option(
        "--timing",
        help="How long operations take: instant, or azure (Azure's typical durations) "
        "(default: $ROLLOUT_EMULATOR_TIMING, else instant).",
    ),
]
TimeScale = Annotated[
    float | None,
    typer.Option(
        "--time-scale",
        help="Multiplies the azure timing's durations, e.g. 0.02 "
        "(default: $ROLLOUT_EMULATOR_TIME_SCALE, else 1).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rollout` app."""
    group = typer.Typer(
        name="emulator",
        help="The local emulator of Azure ML managed online endpoints.",
        no_args_is_help=True,
        add_completion=False,
    )
    group.command("start")(start)
    group.command("stop")(stop)
    group.command("status")(status)
    group.command("serve")(serve)
    group.command("env")(env)
    group.command("identity")(identity)
    group.command("quota")(quota)
    app.add_typer(group)


def start(
    state_dir: StateDir = None,
    registry_uri: RegistryUri = None,
    port: Port = None,
    timing: Timing = None,
    time_scale: TimeScale = None,
) -> None:
    """Start the emulator in the background (does nothing if it runs already)."""
    from rollout.emulator.control.timing import timing_from
    from rollout.emulator.host import process

    directory = _state_dir(state_dir)
    try:
        chosen = timing_from(timing, time_scale) if timing or time_scale is not None else None
    except ValueError as error:
        raise UserError(str(error)) from None
    try:
        current, started = process.start(
            directory, registry_uri, port, timing=chosen, notify=lambda note: typer.echo(note, err=True)
        )
    except process.EmulatorError as error:
        raise UserError(str(error)) from None
    if not started:
        typer.echo(f"The emulator is already running at {current.url} (pid {current.pid}).")
    else:
        typer.echo(f"The emulator is running at {current.url} (pid {current.pid}).")
    typer.echo(f"CA file:   {current.ca_file}")
    typer.echo(f"State dir: {current.state_dir}")
    typer.echo(f"Registry:  {current.registry_uri}")


def stop(state_dir: StateDir = None) -> None:
    """Stop the background emulator and its deployment instances.

    Only the process the state directory records is signalled, and only if it is still that
    emulator: a record whose pid now belongs to another process is stale and is cleared.
    """
    from rollout.emulator.host import process

    result = process.stop(_state_dir(state_dir))
    if result.stopped is not None:
        typer.echo(f"Stopped the emulator at {result.stopped.url} (pid {result.stopped.pid}).")
    elif result.stale_pid is not None:
        typer.echo(
            f"The emulator is not running: its record named pid {result.stale_pid}, which is now "
            "another process (a stale record); left it alone and cleared the record."
        )
    else:
        typer.echo("The emulator is not running.")


def status(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show whether the emulator runs, its URL and CA file. Exits 1 when it does not run."""
    from rollout.emulator.host import process

    directory = _state_dir(state_dir)
    current = process.status(directory)
    if as_json:
        if current is None:
            body: dict[str, object] = {
                "running": False,
                "url": None,
                "port": None,
                "pid": None,
                "ca_file": None,
                "state_dir": str(directory),
                "registry_uri": None,
                "started_at": None,
            }
        else:
            body = current.to_json()
        typer.echo(json.dumps(body, indent=2))
    elif current is None or not current.running:
        typer.echo(f"The emulator is not running (state dir {directory}).")
    else:
        typer.echo(f"The emulator is running at {current.url} (pid {current.pid}).")
        typer.echo(f"CA file:   {current.ca_file}")
        typer.echo(f"State dir: {current.state_dir}")
        typer.echo(f"Registry:  {current.registry_uri}")
    if current is None or not current.running:
        raise typer.Exit(1)


def serve(
    state_dir: StateDir = None,
    registry_uri: RegistryUri = None,
    port: Port = None,
    timing: Timing = None,
    time_scale: TimeScale = None,
) -> None:
    """Run the emulator in the foreground until interrupted."""
    import os

    from rollout.emulator.control.timing import TIME_SCALE_ENV, TIMING_ENV, timing_from
    from rollout.emulator.host import process
    from rollout.emulator.host.config import instance_quota_from_env, warm_environments_from_env
    from rollout.emulator.host.server import ServerConfig
    from rollout.emulator.host.server import serve as serve_forever

    try:
        chosen = timing_from(
            timing or os.environ.get(TIMING_ENV),
            time_scale if time_scale is not None else os.environ.get(TIME_SCALE_ENV),
        )
        instance_quota = instance_quota_from_env()
        warm_environments = warm_environments_from_env()
    except ValueError as error:
        raise UserError(str(error)) from None
    try:
        recorded = process.record_foreground(_state_dir(state_dir), registry_uri, port)
    except process.EmulatorError as error:
        raise UserError(str(error)) from None
    typer.echo(f"The emulator serves at {recorded.url} (pid {recorded.pid}); CA file {recorded.ca_file}")
    serve_forever(
        ServerConfig(
            state_dir=Path(recorded.state_dir),
            registry_uri=recorded.registry_uri,
            port=recorded.port,
            timing=chosen,
            instance_quota=instance_quota,
            warm_environments=warm_environments,
        )
    )


def env(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the variables as a JSON object.")] = False,
) -> None:
    """Print the environment that presents the running emulator as an Azure cloud to `--target azure`.

    As `export` lines for a shell (`eval "$(rollout emulator env)"`). The cloud comes from the
    emulator's ARM metadata document, TLS trust from its CA file, and the scope from its fixed
    subscription, resource group and workspace. A token comes from a logged-in `az`: the stand-in
    `tools/act/bin/az` answers with the file ROLLOUT_AZ_TOKEN_FILE names. Exits 1 when the emulator
    does not run.
    """
    from rollout.emulator.constants import (
        CLOUD_METADATA_API_VERSION,
        CLOUD_METADATA_PATH,
        CLOUD_NAME,
        RESOURCE_GROUP,
        SUBSCRIPTION_ID,
        WORKSPACE,
    )
    from rollout.emulator.host import process
    from rollout.emulator.host.management_token import token_path

    directory = _state_dir(state_dir)
    current = process.status(directory)
    if current is None or not current.running:
        raise UserError(
            f"the emulator is not running (state dir {directory}); start it with `rollout emulator start`"
        )
    variables = {
        "AZUREML_CURRENT_CLOUD": CLOUD_NAME,
        "ARM_CLOUD_METADATA_URL": (
            f"{current.url.rstrip('/')}{CLOUD_METADATA_PATH}?api-version={CLOUD_METADATA_API_VERSION}"
        ),
        "REQUESTS_CA_BUNDLE": current.ca_file,
        "SSL_CERT_FILE": current.ca_file,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID,
        "AZURE_RESOURCE_GROUP": RESOURCE_GROUP,
        "AZUREML_WORKSPACE": WORKSPACE,
        "ROLLOUT_AZ_TOKEN_FILE": str(token_path(Path(current.state_dir))),
    }
    if as_json:
        typer.echo(json.dumps(variables, indent=2))
    else:
        typer.echo(
            "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items()), nl=False
        )


def identity(
    client_id: Annotated[str, typer.Argument(help="The identity's client id (its AZURE_CLIENT_ID).")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="A role definition file (Azure's roleDefinition JSON, e.g. .github/roles/rollout-gate.json),"
            " optionally FILE@SCOPE (default scope: the emulator's resource group). Repeat for more roles.",
        ),
    ],
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="Write the token here (0600) instead of printing it."),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Give a client id exactly these roles on the emulator and issue it a token (valid 24 hours).

    The emulator then authorises that token's requests as Azure does: an ARM action outside the
    roles is 403 AuthorizationFailed, a blob data action outside them 403
    AuthorizationPermissionMismatch. Running it again replaces the client id's roles, also for a
    running emulator. The management token keeps every right.
    """
    from rollout.emulator.host.identity_grant import RoleGrant, grant

    directory = _state_dir(state_dir)
    try:
        token = grant(directory, client_id, [RoleGrant.parse(one) for one in role])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if token_file is None:
        typer.echo(token)
        return
    token_file.unlink(missing_ok=True)
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n")
    typer.echo(f"{client_id}: {len(role)} role(s); token written to {token_file}")


def quota(
    limit: Annotated[
        list[str] | None,
        typer.Argument(
            help="FAMILY=CORES, e.g. standardDSv2Family=8, or regional=CORES for the region's total of "
            "all families (=default: back to the default)."
        ),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Set the emulator's VM core quota per family or the region's total, then print every limit.

    As a subscription's quota on Azure: `rollout deploy` and `rollout doctor` read it from the
    region's usages, and the emulator counts each deployment's cores in its family's and in the
    regional total ("Total Cluster Dedicated Regional vCPUs"), 20% of its instances reserved for
    upgrades. The limits are kept in the state directory and apply at once, also to a running
    emulator. Without arguments, it prints the limits.
    """
    from rollout.emulator import core_quota

    directory = _state_dir(state_dir)
    changes: dict[str, int | None] = {}
    for item in limit or []:
        family, _, cores = item.partition("=")
        if cores == "default":
            changes[family] = None
        elif cores.isdigit():
            changes[family] = int(cores)
        else:
            raise UserError(f"{item}: give FAMILY=CORES or regional=CORES (a number of cores, or `default`)")
    try:
        limits = core_quota.set_limits(directory, changes) if changes else core_quota.limits(directory)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for family, limit_cores in limits.families.items():
        typer.echo(f"{family}: {limit_cores} cores")
    typer.echo(f"{core_quota.REGIONAL}: {limits.regional} cores (all families)")


def _state_dir(state_dir: Path | None) -> Path:
    if state_dir:
        return state_dir.resolve()
    paths.ensure_home()
    return paths.emulator_dir()
