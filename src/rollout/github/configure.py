"""`rollout github configure`: the repository's GitHub environments and branch protection made
what `.github/environments.yml` says.

A dry run unless `apply`: it prints what differs from the environments and protected branches as
GitHub has them. Applying makes the changes (create or update each environment, add and remove its
custom deployment branch policies, set its AZURE_CLIENT_ID variable; protect each branch; set the
repository's AZURE_PULL_REQUEST_CLIENT_ID variable to the pull requests' identity); applying again
changes nothing. `.github/CODEOWNERS` is a file of the repository: it is checked to give each
declared pattern its owners, before any request, and every owner must exist on GitHub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rollout.core.errors import UserError
from rollout.github.api import GitHubApi, Repository
from rollout.github.branch_protection import apply_branch, check_codeowners, plan_branches
from rollout.github.environments_apply import ReviewerResolver, apply, plan_changes
from rollout.github.environments_config import PULL_REQUEST_CLIENT_ID_VARIABLE, load_config
from rollout.github.environments_plan import describe
from rollout.github.pull_request_variable import apply_variable, plan_variable

TOKEN_VARIABLE = "GITHUB_TOKEN"


@dataclass(frozen=True)
class Configure:
    """One run: the repository (OWNER/REPO), the files, GitHub's API and whether to apply."""

    repo: str | None
    config: Path
    codeowners: Path
    api_url: str
    apply: bool = False


def configure(run: Configure, token: str | None, echo: Callable[[str], None]) -> None:
    """Print what differs, and with `run.apply` change it; a UserError for any problem, before a
    write when the file, CODEOWNERS, a reviewer or an owner is wrong."""
    repo = Repository.parse(run.repo)
    token = (token or "").strip()
    if not token:
        raise UserError(
            f"{TOKEN_VARIABLE} is not set; export a token with administration rights on the repository"
        )
    config = load_config(run.config)
    check_codeowners(config, run.codeowners, repo.owner)
    with GitHubApi(run.api_url, token) as api:
        changes = plan_changes(api, repo, config)
        resolver = ReviewerResolver(api, repo.owner)
        for reviewers in config.code_owners.values():  # GitHub ignores an owner it does not know
            for reviewer in reviewers:
                resolver.resolve(reviewer)
        branches = plan_branches(api, repo, config)
        variable = plan_variable(api, repo, config)
        for change in changes:
            echo("\n".join(describe(change)))
        for branch in branches:
            echo("\n".join(branch.describe()))
        if variable is not None:
            echo(variable.describe())
        pending = [change for change in changes if not change.empty]
        pending_branches = [branch for branch in branches if not branch.empty]
        pending_variable = variable is not None and not variable.empty
        counts = f"{len(pending)} environment(s) and {len(pending_branches)} branch(es)"
        if pending_variable:
            counts = (
                f"{len(pending)} environment(s), {len(pending_branches)} branch(es) "
                f"and the repository variable {PULL_REQUEST_CLIENT_ID_VARIABLE}"
            )
        if not pending and not pending_branches and not pending_variable:
            echo(f"{repo}: every environment and protected branch is up to date")
        elif not run.apply:
            echo(f"dry run: {counts} would change; run again with --apply to change them")
        else:
            for change in pending:
                apply(api, repo, change)
            for branch in pending_branches:
                apply_branch(api, repo, branch)
            if variable is not None and pending_variable:
                apply_variable(api, repo, variable)
            echo(f"{repo}: applied changes to {counts}")
