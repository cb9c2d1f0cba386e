"""`rollout model`: train the demo classifier, register model directories, write the probe request."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rollout.cli.common import (
    ResourceGroup,
    Subscription,
    Target,
    Workspace,
    registry_uri,
    warn_about_model_code,
)
from rollout.core.errors import UserError

model_app = typer.Typer(help="Train and register models.", no_args_is_help=True)

DEFAULT_NAME = "heart-classifier"


@model_app.command("train")
def train(
    variant: int = typer.Option(1, "--variant", help="1, or 2 for a different but similar model."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the classifier."),
    name: str = typer.Option(DEFAULT_NAME, "--name", help="Registered model name."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Train the demo heart-disease classifier, register it, print its version and holdout accuracy."""
    from rollout import registry
    from rollout.core import paths
    from rollout.demo_model import require_libraries
    from rollout.demo_model.training import check_variant, train_and_register

    require_libraries()
    check_variant(variant)
    registry.quiet_logs()
    paths.ensure_home()
    registered = train_and_register(
        name,
        variant=variant,
        seed=seed,
        tracking_uri=registry_uri(target, subscription, resource_group, workspace),
        artifacts_dir=paths.artifacts_dir(),
    )
    trained = registered.trained
    if as_json:
        result = {"name": name, "version": registered.version, "holdout_accuracy": trained.holdout_accuracy}
        typer.echo(
            json.dumps({**result, "holdout_rows": trained.holdout_rows, "variant": variant, "seed": seed})
        )
        return
    typer.echo(
        f"{name} version {registered.version}: holdout accuracy {trained.holdout_accuracy:.3f} "
        f"on {trained.holdout_rows} rows (variant {variant}, seed {seed})"
    )


@model_app.command("register")
def register_command(
    name: str = typer.Option(..., "--name", help="Registered model name."),
    path: Path = typer.Option(..., "--path", help="An MLflow model directory (with an MLmodel file)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Register an MLflow model directory as a new version of a model; print that version."""
    from rollout import registry
    from rollout.core import paths

    registry.quiet_logs()
    if not (path / "MLmodel").is_file():
        raise UserError(f"{path} is not an MLflow model directory (it has no MLmodel file)")
    from mlflow.models import Model

    warn_about_model_code(name, Model.load(str(path / "MLmodel")).flavors)
    paths.ensure_home()
    version = registry.register_model(
        registry.client(registry_uri(target, subscription, resource_group, workspace)),
        name,
        path,
        artifacts_dir=paths.artifacts_dir(),
    )
    typer.echo(json.dumps({"name": name, "version": version}) if as_json else f"{name} version {version}")


@model_app.command("probe")
def probe(
    out: Path | None = typer.Option(None, "--out", help="Write here instead of printing."),
) -> None:
    """Print (or write) the probe request: the demo data's holdout rows, as samples/probe.json holds."""
    from rollout.demo_model import data, require_libraries

    require_libraries()
    text = data.format_request(data.probe_request())
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rollout` app."""
    app.add_typer(model_app, name="model")
