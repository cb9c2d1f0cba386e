"""`rollout github` commands: the repository's settings on GitHub, as its files declare them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rollout.github import defaults


def configure(
    repo: Annotated[
        str | None,
        typer.Option("--repo", help="OWNER/REPO (default: $GITHUB_REPOSITORY).", show_default=False),
    ] = None,
    config: Annotated[
        Path,
        typer.Option("--config", help="The environments file: environments, branch protection, code owners."),
    ] = defaults.ENVIRONMENTS_FILE,
    codeowners: Annotated[
        Path,
        typer.Option("--codeowners", help="The CODEOWNERS file the code_owners section is checked against."),
    ] = defaults.CODEOWNERS_FILE,
    api_url: Annotated[
        str,
        typer.Option("--api-url", help="GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3)."),
    ] = defaults.API_URL,
    apply: Annotated[
        bool, typer.Option("--apply", help="Make the changes (default: only print them).")
    ] = False,
) -> None:
    """Make the repository's GitHub environments and branch protection what .github/environments.yml says.

    A dry run unless --apply: prints what differs from GitHub's settings (environments, reviewers,
    wait timers, deployment branch policies, each environment's AZURE_CLIENT_ID variable, the
    protection of branches, and the repository's AZURE_PULL_REQUEST_CLIENT_ID variable when the file
    declares `pull_requests`). With --apply, makes the changes; a second run changes nothing.
    Stops before any request while .github/CODEOWNERS does not give each declared pattern its owners.

    The token is read from $GITHUB_TOKEN: it needs administration rights on the repository (a
    fine-grained token with "Administration: write", or a classic token with the `repo` scope);
    reading teams needs `read:org`.
    """
    from rollout.github.configure import TOKEN_VARIABLE, Configure
    from rollout.github.configure import configure as run

    run(
        Configure(repo or os.environ.get("GITHUB_REPOSITORY"), config, codeowners, api_url, apply),
        os.environ.get(TOKEN_VARIABLE),
        typer.echo,
    )


def roles(
    config: Annotated[
        Path, typer.Option("--config", help="The environments file: each environment's identity and roles.")
    ] = defaults.ENVIRONMENTS_FILE,
    subscription: Annotated[
        str | None,
        typer.Option("--subscription", help="Default: $AZURE_SUBSCRIPTION_ID.", show_default=False),
    ] = None,
    resource_group: Annotated[
        str | None,
        typer.Option("--resource-group", help="Default: $AZURE_RESOURCE_GROUP.", show_default=False),
    ] = None,
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="Default: $AZUREML_WORKSPACE.", show_default=False)
    ] = None,
    lock_account: Annotated[
        str, typer.Option("--lock-account", help="The storage account of the release lock's container.")
    ] = "",
    lock_container: Annotated[
        str, typer.Option("--lock-container", help="The container of the release lock's blobs.")
    ] = "",
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            help="OWNER/REPO, in the pull requests' federated credential subject "
            "(default: $GITHUB_REPOSITORY).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the az commands that create the roles of .github/roles/ and assign each environment's
    identity the roles .github/environments.yml names, and the pull requests' identity (its
    `pull_requests`) its read-only role (prints only; run them with an identity that may create
    roles and assignments, such as Owner or User Access Administrator).

    The lock's container is the plan's `lock` (account_url, container), else the workspace's default
    datastore: `az ml datastore show -n workspaceblobstore --query "[account_name, container_name]"`.
    """
    from rollout.core.errors import UserError
    from rollout.github.environments_config import load_config
    from rollout.github.role_commands import AzureScope, commands

    values = {
        "--subscription": subscription or os.environ.get("AZURE_SUBSCRIPTION_ID"),
        "--resource-group": resource_group or os.environ.get("AZURE_RESOURCE_GROUP"),
        "--workspace": workspace or os.environ.get("AZUREML_WORKSPACE"),
        "--lock-account": lock_account,
        "--lock-container": lock_container,
    }
    missing = [option for option, value in values.items() if not value]
    if missing:
        raise UserError(f"give {', '.join(missing)} (the Azure scope the roles are assigned at)")
    scope = AzureScope(*(str(value) for value in values.values()))
    root = config.resolve().parent.parent
    for line in commands(root, load_config(config), scope, repo or os.environ.get("GITHUB_REPOSITORY")):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add the `rollout github` group to the `rollout` app."""
    github_app = typer.Typer(
        help="The repository's settings on GitHub, as its files declare them.", no_args_is_help=True
    )
    github_app.command("configure")(configure)
    github_app.command("roles")(roles)
    app.add_typer(github_app, name="github")
