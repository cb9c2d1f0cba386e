"""What the command modules share: the target options and turning them into a connection, the
project and release they act on, and the command bodies two command groups have in common
(`rollout invoke` / `rollout endpoint invoke`, `rollout traffic set` / `rollout endpoint update`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rollout.azureml.azure_target import AZURE_ENV
from rollout.cli.console import say, show_split
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from rollout.azureml.connection import Connection
    from rollout.project.specs import Project
    from rollout.release.steps import Release

Target = Annotated[
    str, typer.Option("--target", envvar="ROLLOUT_TARGET", help="local (the emulator, default) or azure.")
]
Subscription = Annotated[
    str | None, typer.Option(envvar=AZURE_ENV["subscription"], help="Azure subscription id.")
]
ResourceGroup = Annotated[
    str | None, typer.Option(envvar=AZURE_ENV["resource_group"], help="Azure resource group.")
]
Workspace = Annotated[str | None, typer.Option(envvar=AZURE_ENV["workspace"], help="Azure ML workspace.")]
ProjectPath = Annotated[Path, typer.Option("--path", help="Project root (holds endpoints/, deployments/).")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def connect(
    target: str,
    subscription: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
) -> Connection:
    """A connection to the target the options name (the local emulator is started when needed)."""
    from rollout.azureml.connection import Connection
    from rollout.azureml.targets import parse_target

    return Connection(
        parse_target(target, subscription=subscription, resource_group=resource_group, workspace=workspace)
    )


def project_at(path: Path) -> Project:
    from rollout.project.loading import load_project

    return load_project(path)


def release_for(
    path: Path, target: str, subscription: str | None, resource_group: str | None, workspace: str | None
) -> Release:
    from rollout.release.steps import Release

    return Release(connect(target, subscription, resource_group, workspace), project_at(path), progress=say)


def invoke_endpoint(
    name: str, request_file: Path, deployment: str | None, conn: Connection, as_json: bool = False
) -> int:
    """Score a request, print the reply, return the exit code."""
    try:
        body = request_file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {request_file}: {exc.strerror}") from exc
    with conn.scoring(name) as client:
        reply = client.score(body, deployment=deployment)
    say(f"{reply.status} from {reply.deployment or 'no deployment'} in {reply.elapsed_ms:.0f} ms")
    shown_body = reply.body if reply.body is not None else reply.text
    if as_json:
        shown = {"status": reply.status, "deployment": reply.deployment, "request_id": reply.request_id}
        print(json.dumps({**shown, "elapsed_ms": round(reply.elapsed_ms, 1), "body": shown_body}))
    else:
        print(json.dumps(shown_body) if reply.body is not None else shown_body)
    return 0 if reply.ok else 1


def apply_split(text: str, name: str, conn: Connection, as_json: bool = False) -> None:
    """Set an endpoint's live traffic from `"blue=90 green=10"`, checked first, confirmed after."""
    from rollout.azureml.endpoints import deployment_names, get_endpoint, live_traffic, set_traffic
    from rollout.project.traffic import check_split, parse_split

    split = parse_split(text)
    get_endpoint(conn.ml, name)
    check_split(split, deployment_names(conn.ml, name))
    updated = set_traffic(conn.ml, name, split)
    show_split(name, "traffic", live_traffic(updated), as_json)


def registry_uri(
    target: str, subscription: str | None, resource_group: str | None, workspace: str | None
) -> str:
    """Where models are registered: the local registry, or the Azure ML workspace's (its MLflow
    tracking URI, through azureml-mlflow)."""
    from rollout.core import paths

    if target == "local":
        return paths.registry_uri()
    from rollout.azureml.targets import parse_target

    chosen = parse_target(
        target, subscription=subscription, resource_group=resource_group, workspace=workspace
    )
    return chosen.mlflow_uri()


def warn_about_model_code(model: str, flavors: dict[str, Any]) -> None:
    """One line on stderr when loading the model runs code it ships (see rollout.project.model_code)."""
    from rollout.project.model_code import trust_warning

    line = trust_warning(model, flavors)
    if line:
        print(line, file=sys.stderr, flush=True)


def warn_about_registered_model_code(tracking_uri: str, name: str, version: int) -> None:
    """`warn_about_model_code` for a registered version (a version not in the registry is left to
    the command, which names it)."""
    from rollout import registry

    found = registry.find_version(tracking_uri, name, version)
    if found is not None:
        warn_about_model_code(f"{name}:{version}", registry.load_mlmodel(tracking_uri, found).flavors)


def bake_seconds(text: str | None) -> float | None:
    """`--bake` in seconds (None when not given); a bad duration is one `error:` line."""
    if text is None:
        return None
    from rollout.project.specs import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UserError(f"--bake: {exc}") from exc


def refuse_invalid_specs(path: Path, nothing: str) -> None:
    """Print each problem of the project's specs and stop with one line (`nothing`: what was not
    done, e.g. "nothing was released") when there are any."""
    from rollout.project.validation import validate_project

    problems = validate_project(path).problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise UserError(f"{len(problems)} problem(s) in the specs; {nothing}")
