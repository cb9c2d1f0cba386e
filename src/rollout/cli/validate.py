"""`rollout validate` and `rollout schema`: offline checks of the specs, and request schemas."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from rollout.core.errors import UserError


def validate(
    path: Path = typer.Option(Path("."), "--path", help="The project's root directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the problems and notes as JSON."),
) -> None:
    """Check the endpoint, deployment and release specs and the sample requests; list every problem."""
    from rollout import registry
    from rollout.project import validation

    registry.quiet_logs()
    if not path.is_dir():
        raise UserError(f"{path} is not a directory")
    # A registry that cannot be reached only skips the drift check: do not wait minutes on retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    result = validation.validate_project(path)
    if as_json:
        problems = [{"file": p.file, "field": p.field, "message": p.message} for p in result.problems]
        typer.echo(json.dumps({"valid": not problems, "problems": problems, "notes": result.notes}, indent=2))
    for note in [] if as_json else result.notes:
        typer.echo(f"note: {note}")
    for problem in [] if as_json else result.problems:
        typer.echo(str(problem))
    if result.problems:
        count = len(result.problems)
        raise UserError(f"{count} problem{'s' if count != 1 else ''} in the specs")
    if not as_json:
        typer.echo("ok: the specs and samples are valid")


def schema(
    model: str = typer.Option(
        ...,
        "--model",
        help="models:/<name>/<version> (or latest) in the registry, or an MLflow model directory.",
    ),
) -> None:
    """Print the JSON Schema of scoring requests for a model, derived from its MLflow signature."""
    from rollout import registry
    from rollout.core import paths
    from rollout.project.schema import load_model_metadata, model_schema

    registry.quiet_logs()
    typer.echo(json.dumps(model_schema(load_model_metadata(model, paths.registry_uri())), indent=2))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rollout` app."""
    app.command("validate")(validate)
    app.command("schema")(schema)
