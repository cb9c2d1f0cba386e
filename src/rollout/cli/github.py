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
    protection of branches). With --apply, makes the changes; a second run changes nothing.
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


def register(app: typer.Typer) -> None:
    """Add the `rollout github` group to the `rollout` app."""
    github_app = typer.Typer(
        help="The repository's settings on GitHub, as its files declare them.", no_args_is_help=True
    )
    github_app.command("configure")(configure)
    app.add_typer(github_app, name="github")
