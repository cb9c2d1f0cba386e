"""`rollout init`: a release project for any registered MLflow model."""

from __future__ import annotations

import os
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from rollout.cli import console
from rollout.cli.common import ResourceGroup, Subscription, Target, Workspace, registry_uri
from rollout.core.errors import UserError


def init(
    model: Annotated[str, typer.Option("--model", help="The model to release: models:/<name>/<version>.")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="The managed online endpoint's name.")],
    path: Annotated[Path, typer.Option("--path", help="Where to write the project.")] = Path("."),
    probe: Annotated[
        Path | None,
        typer.Option(
            "--probe", help="CSV or Parquet rows of the model's columns for the probe set (50 or more)."
        ),
    ] = None,
    instance_type: Annotated[str, typer.Option("--instance-type", help="The deployments' VM size.")] = (
        "Standard_DS3_v2"
    ),
    scoring_script: Annotated[
        Path | None,
        typer.Option(
            "--scoring-script",
            help="A score.py (init() and run()) for the slots to run, in a folder of its own inside "
            "--path (uploaded as the deployment's code); needs --conda-file. Default: Azure's no-code "
            "MLflow deployment.",
        ),
    ] = None,
    conda_file: Annotated[
        Path | None,
        typer.Option(
            "--conda-file",
            help="The scoring script's environment, inside --path: a conda file whose pip list holds "
            "azureml-inference-server-http and what the script imports.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Write a release project for a registered model: endpoint and slot specs, the release plan,
    samples, the GitHub workflows and environments. The acceptance suite ships with rollout."""
    from rollout import registry
    from rollout.azureml import model_environment
    from rollout.github import defaults, environments_config, install, roles, workflow
    from rollout.project import scaffold
    from rollout.project.layout import PLAN_FILE
    from rollout.project.scaffold_model import learn
    from rollout.project.validation import validate_project

    registry.quiet_logs()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    scaffold.check_endpoint_name(endpoint)
    if path.exists() and not path.is_dir():
        raise UserError(f"--path {path} is not a directory")
    code = scaffold.scoring_code(path, scoring_script, conda_file)
    github_files = [
        workflow.RELEASE_WORKFLOW,
        workflow.ROLLBACK_WORKFLOW,
        workflow.PULL_REQUEST_WORKFLOW,
        defaults.ENVIRONMENTS_FILE,
        install.RELEASE_REQUIREMENTS,
    ]
    if not force:  # before the model is read: a refusal should be quick
        scaffold.refuse_overwrite(path, [*scaffold.project_paths(endpoint), *github_files])
    tracking_uri = registry_uri(target, subscription, resource_group, workspace)
    # the model is read in its own environment (built, or found in the cache): progress on stderr,
    # with a spinner on a terminal while uv installs
    with console.stderr.status("reading the model in its own environment"):
        facts = learn(model, tracking_uri, probe, partial(model_environment.answers, say=console.say))
    project = scaffold.project_files(endpoint, facts, instance_type, code)
    files = dict(project.files)
    with tempfile.TemporaryDirectory(prefix="rollout-init-") as scratch:
        scaffold.write(Path(scratch), files)  # the plan's bakes, as the renderer reads them
        if code is not None:  # the copy validates with the project's own script and conda file
            scaffold.link_scoring_code(path, Path(scratch), code)
        plan = workflow.read_plan(Path(scratch), PLAN_FILE)
        files.update(workflow.generated(plan))
        files[defaults.ENVIRONMENTS_FILE] = environments_config.starter_config(
            workflow.RELEASE_ENVIRONMENT,
            workflow.DISPATCH_ENVIRONMENT,
            [stage.environment for stage in scaffold.STAGES],
            roles.environment_roles,
            workflow.SAFETY_NET_ENVIRONMENT,
        )
        files[install.RELEASE_REQUIREMENTS] = install.installed_requirements()
        scaffold.write(Path(scratch), files)
        problems = validate_project(Path(scratch), registry_uri=tracking_uri).problems
    if problems:
        raise UserError(f"the scaffold does not validate: {problems[0]}")
    if not force:
        scaffold.refuse_overwrite(path, files)
    for warning in facts.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if code is not None:
        print(
            f"note: the slots run {code.code.as_posix()}/{code.script}; the probe answers and the output "
            "contract come from the model itself: check that run() answers in that shape (the plan's "
            "output)",
            file=sys.stderr,
        )
    for relative in scaffold.write(path, files):
        typer.echo(f"wrote {relative}")
    typer.echo(
        f"{facts.name}:{facts.version} on endpoint {endpoint}; output: {facts.output.describe()}\n"
        f"next: rollout validate --path {path}, then rollout release --path {path}; before releasing "
        f"from GitHub, compile the workflows' hashed lock: {install.LOCK_COMMAND}, and put the "
        f"identities in {defaults.ENVIRONMENTS_FILE}, then apply it: "
        "rollout github configure --repo OWNER/REPO"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rollout` app."""
    app.command("init")(init)
