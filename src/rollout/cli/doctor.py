"""`rollout doctor`: a read-only preflight of the target and the project, in one table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rollout.cli.common import Json, ProjectPath, ResourceGroup, Subscription, Target, Workspace, project_at
from rollout.cli.console import print_json, step_summary
from rollout.github import defaults

if TYPE_CHECKING:
    from rollout.doctor.checks import Diagnosis

# the areas of `--only` (rollout.doctor.run.AREAS, kept here so that --help imports no SDK)
AREAS = ("workflows", "github", "permissions", "lock", "endpoint", "quota", "metrics")
TOKEN_VARIABLE = "GITHUB_TOKEN"

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


Only = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="AREA",
        help=f"Run only these checks ({', '.join(AREAS)}; `endpoint` includes each slot's). Repeat for "
        "more. The credential is checked whenever an area reads the target.",
    ),
]
GitHubRepo = Annotated[
    str | None,
    typer.Option(
        "--github-repo",
        envvar="GITHUB_REPOSITORY",
        metavar="OWNER/REPO",
        help="The repository whose environments and branch protection to compare with "
        ".github/environments.yml (needs a token).",
        show_default=False,
    ),
]
GitHubTokenFile = Annotated[
    Path | None,
    typer.Option(
        "--github-token-file",
        help=f"A file holding a GitHub token that reads the repository's administration settings "
        f"(default: ${TOKEN_VARIABLE}). Without one, the GitHub side is not checked.",
        show_default=False,
    ),
]
GitHubApiUrl = Annotated[
    str,
    typer.Option(
        "--github-api-url",
        envvar="GITHUB_API_URL",
        help="GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3).",
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
    only: Only = None,
    github_repo: GitHubRepo = None,
    github_token_file: GitHubTokenFile = None,
    github_api_url: GitHubApiUrl = defaults.API_URL,
) -> None:
    """Check, changing nothing, what a release needs: the credential, the workflows against the
    plan, the repository's GitHub environments and branch protection against
    .github/environments.yml (with a token), each environment identity's permissions, the lock's
    container and the data role on it, the live endpoint against the specs and the idle slot, the
    quota for the next deployment, and the Azure Monitor metrics the analysis reads. Exits 1 when a
    check fails, with a line of advice for each; in GitHub Actions the table also goes to the step
    summary."""
    from rollout.azureml.connection import Connection
    from rollout.azureml.targets import parse_target
    from rollout.core.errors import UserError
    from rollout.doctor.github_settings import GitHubAccess
    from rollout.doctor.run import diagnose

    unknown = [area for area in only or [] if area not in AREAS]
    if unknown:
        raise UserError(f"--only {unknown[0]}: no such check (choose from {', '.join(AREAS)})")
    project = project_at(path)
    conn = Connection(
        parse_target(
            target, subscription=subscription, resource_group=resource_group, workspace=workspace, start=False
        )
    )
    access = GitHubAccess(github_repo, _token(github_token_file), github_api_url)
    diagnosis = diagnose(conn, project, list(environment or []), access, frozenset(only) if only else None)
    if as_json:
        print_json(diagnosis.to_dict())
    else:
        _print(diagnosis)
    step_summary(markdown(diagnosis))
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


def _token(path: Path | None) -> str | None:
    """The GitHub token: the file's, else $GITHUB_TOKEN's (None: neither)."""
    import os

    from rollout.core.errors import UserError

    if path is None:
        return os.environ.get(TOKEN_VARIABLE) or None
    try:
        return path.read_text().strip() or None
    except OSError as error:
        raise UserError(f"--github-token-file {path}: {error.strerror}") from None


def markdown(diagnosis: Diagnosis) -> str:
    """The table as Markdown (for a job's step summary), then the advice of each failure."""

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    failed = len(diagnosis.failures)
    lines = [
        f"### rollout doctor: {f'{failed} check(s) failed' if failed else 'all checks passed'}",
        "",
        f"Target: {diagnosis.target}.",
        "",
        "| | check | on | found |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {'ok' if c.ok else '**FAIL**'} | {c.area} | {cell(c.subject)} | {cell(c.detail)} |"
        for c in diagnosis.checks
    ]
    if failed:
        lines += ["", *(f"- {c.area} {cell(c.subject)}: {cell(c.advice or '')}" for c in diagnosis.failures)]
    return "\n".join(lines) + "\n"
