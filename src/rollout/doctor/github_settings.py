"""Reading the repository's settings on GitHub, where a token is at hand: the changes `rollout github
configure` would make (its own plan, read with its GitHub client), and nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rollout.core.errors import UserError
from rollout.doctor.facts import GitHubFacts, GitHubNotChecked
from rollout.github.api import GitHubApi, Repository
from rollout.github.branch_protection import codeowners_problems, plan_branches
from rollout.github.defaults import CODEOWNERS_FILE, ENVIRONMENTS_FILE
from rollout.github.environments_apply import plan_changes
from rollout.github.environments_config import load_config
from rollout.github.pull_request_variable import plan_variable

if TYPE_CHECKING:
    from pathlib import Path

HOW_TO_CHECK = (
    "give a token with --github-token-file FILE (or GITHUB_TOKEN) and the repository with "
    "--github-repo OWNER/REPO (or GITHUB_REPOSITORY)"
)


@dataclass(frozen=True)
class GitHubAccess:
    """The repository (OWNER/REPO), a token for GitHub's API (None: not at hand) and the API's URL."""

    repo: str | None
    token: str | None
    api_url: str


def read_github(root: Path, access: GitHubAccess | None) -> GitHubFacts | GitHubNotChecked:
    """The repository's environments, protected branches and pull requests' variable as GitHub has
    them, against the project's `.github/environments.yml` (GET requests only)."""
    token = (access.token or "").strip() if access else ""
    if access is None or not token:
        return GitHubNotChecked(f"no GitHub token: {HOW_TO_CHECK}")
    if not access.repo:
        return GitHubNotChecked(f"no repository named: {HOW_TO_CHECK}")
    try:
        repo = Repository.parse(access.repo)
    except UserError:
        raise UserError(f"--github-repo {access.repo}: name the repository as OWNER/REPO") from None
    config_path = root / ENVIRONMENTS_FILE
    if not config_path.is_file():
        return GitHubFacts(str(repo), declared=False)
    config = load_config(config_path)
    codeowners = root / CODEOWNERS_FILE
    problems = codeowners_problems(
        config, codeowners.read_text() if codeowners.is_file() else None, repo.owner
    )
    try:
        with GitHubApi(access.api_url, token) as api:
            return GitHubFacts(
                str(repo),
                environments=tuple(plan_changes(api, repo, config)),
                branches=tuple(plan_branches(api, repo, config)),
                variable=plan_variable(api, repo, config),
                codeowners=tuple(problems),
            )
    except UserError as error:  # GitHub's answer, or not reaching it, in one line
        return GitHubFacts(str(repo), codeowners=tuple(problems), error=str(error))
