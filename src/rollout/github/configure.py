"""`rollout github configure`: the repository's GitHub environments and branch protection made
what `.github/environments.yml` says.

A dry run unless `apply`: it prints what differs from the environments and protected branches as
GitHub has them. Applying makes the changes (create or update each environment, add and remove its
custom deployment branch policies, set its AZURE_CLIENT_ID variable; protect each branch); applying
again changes nothing. `.github/CODEOWNERS` is a file of the repository: it is checked to give each
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
from rollout.github.environments_config import load_config
from rollout.github.environments_plan import describe

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
        for change in changes:
            echo("\n".join(describe(change)))
        for branch in branches:
            echo("\n".join(branch.describe()))
        pending = [change for change in changes if not change.empty]
        pending_branches = [branch for branch in branches if not branch.empty]
        counts = f"{len(pending)} environment(s) and {len(pending_branches)} branch(es)"
        if not pending and not pending_branches:
            echo(f"{repo}: every environment and protected branch is up to date")
        elif not run.apply:
            echo(f"dry run: {counts} would change; run again with --apply to change them")
        else:
            for change in pending:
                apply(api, repo, change)
            for branch in pending_branches:
                apply_branch(api, repo, branch)
            echo(f"{repo}: applied changes to {counts}")
