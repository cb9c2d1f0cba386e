"""The repository variable AZURE_PULL_REQUEST_CLIENT_ID: the client ID of the pull requests'
identity (`pull_requests` in `.github/environments.yml`), which the pull-request check's azure/login
reads. Its job runs in no environment, so the variable is the repository's, not an environment's.
Read, compared and set by `rollout github configure`."""

from __future__ import annotations

from dataclasses import dataclass

from rollout.github.api import GitHubApi, Repository
from rollout.github.environments_config import PULL_REQUEST_CLIENT_ID_VARIABLE, EnvironmentsFile


@dataclass(frozen=True)
class VariableChange:
    """The variable as GitHub has it (None: unset) and as the file wants it."""

    current: str | None
    wanted: str

    @property
    def empty(self) -> bool:
        return self.current == self.wanted

    def describe(self) -> str:
        if self.empty:
            return f"repository variable {PULL_REQUEST_CLIENT_ID_VARIABLE}: no changes"
        shown = f"{self.current or 'unset'} -> {self.wanted}"
        return f"repository variable {PULL_REQUEST_CLIENT_ID_VARIABLE}: {shown}"


def plan_variable(api: GitHubApi, repo: Repository, config: EnvironmentsFile) -> VariableChange | None:
    """The change the file's `pull_requests` asks for; None when the file declares no such identity."""
    if config.pull_requests is None:
        return None
    found = api.find(
        api.rest.actions.get_repo_variable,
        owner=repo.owner,
        repo=repo.name,
        name=PULL_REQUEST_CLIENT_ID_VARIABLE,
    )
    current = None if found is None else str(found["value"])
    return VariableChange(current, str(config.pull_requests.identity.client_id))


def apply_variable(api: GitHubApi, repo: Repository, change: VariableChange) -> None:
    """Create the variable, or update it to the wanted client ID."""
    actions = api.rest.actions
    with api.answers():
        if change.current is None:
            actions.create_repo_variable(
                owner=repo.owner, repo=repo.name, name=PULL_REQUEST_CLIENT_ID_VARIABLE, value=change.wanted
            )
        else:
            actions.update_repo_variable(
                owner=repo.owner,
                repo=repo.name,
                name=PULL_REQUEST_CLIENT_ID_VARIABLE,
                data={"name": PULL_REQUEST_CLIENT_ID_VARIABLE, "value": change.wanted},
            )
