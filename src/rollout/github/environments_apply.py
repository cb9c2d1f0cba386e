"""The environments of `.github/environments.yml` against GitHub: each read as GitHub has it (its
settings, custom deployment branch policies and AZURE_CLIENT_ID variable), the reviewers resolved
to GitHub's ids, the changes planned (`rollout.github.environments_plan`) and made."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from rollout.core.errors import UserError
from rollout.github.api import GitHubApi, Repository, segment
from rollout.github.environments_config import CLIENT_ID_VARIABLE, EnvironmentsFile, Reviewer
from rollout.github.environments_plan import (
    Current,
    EnvironmentChange,
    ReviewerId,
    Settings,
    current_settings,
    plan_environment,
)


class BranchPolicyBody(TypedDict):
    """`deployment_branch_policy` of an environment's PUT body."""

    protected_branches: bool
    custom_branch_policies: bool


class ReviewerBody(TypedDict):
    type: Literal["User", "Team"]
    id: int


class EnvironmentBody(TypedDict, total=False):
    """PUT /repos/{owner}/{repo}/environments/{name}'s body, as rollout sends it (GitHub also takes
    `can_admins_bypass`, which its OpenAPI description leaves out)."""

    wait_timer: int
    prevent_self_review: bool
    reviewers: list[ReviewerBody] | None
    deployment_branch_policy: BranchPolicyBody | None
    can_admins_bypass: bool


class ReviewerResolver:
    """Turns user logins and team slugs into the ids GitHub's API takes (cached)."""

    def __init__(self, api: GitHubApi, owner: str) -> None:
        self._api, self._owner = api, owner
        self._cache: dict[tuple[str, str], ReviewerId] = {}

    def resolve(self, reviewer: Reviewer) -> ReviewerId:
        if reviewer.user is not None:
            return self._user(reviewer.user)
        org, _, slug = (reviewer.team or "").rpartition("/")
        return self._team(org or self._owner, slug)

    def _user(self, login: str) -> ReviewerId:
        key = ("User", login)
        if key not in self._cache:
            users = self._api.rest.users
            found = self._api.find(users.get_by_username, username=segment(login))
            if found is None:
                raise UserError(
                    f"reviewer user {login!r} not found on GitHub (GET /users/{segment(login)}: 404)"
                )
            self._cache[key] = ReviewerId("User", found["id"], login)
        return self._cache[key]

    def _team(self, org: str, slug: str) -> ReviewerId:
        key = ("Team", f"{org}/{slug}")
        if key not in self._cache:
            teams = self._api.rest.teams
            found = self._api.find(teams.get_by_name, org=segment(org), team_slug=segment(slug))
            if found is None:
                path = f"/orgs/{segment(org)}/teams/{segment(slug)}"
                raise UserError(f"reviewer team '{org}/{slug}' not found on GitHub (GET {path}: 404)")
            self._cache[key] = ReviewerId("Team", found["id"], f"{org}/{slug}")
        return self._cache[key]


def read_environment(api: GitHubApi, repo: Repository, name: str) -> Current | None:
    """An environment as GitHub has it, None if it has no such environment."""
    repos, actions = api.rest.repos, api.rest.actions
    env = segment(name)
    found = api.find(repos.get_environment, owner=repo.owner, repo=repo.name, environment_name=env)
    if found is None:
        return None
    settings = current_settings(found)
    policies: list[tuple[int, str]] = []
    if settings.branch_policy == "custom":
        policies = api.every_page(
            repos.list_deployment_branch_policies,
            _policies,
            owner=repo.owner,
            repo=repo.name,
            environment_name=env,
        )
    variable = api.find(
        actions.get_environment_variable,
        owner=repo.owner,
        repo=repo.name,
        environment_name=env,
        name=CLIENT_ID_VARIABLE,
    )
    return Current(settings, policies, None if variable is None else str(variable["value"]))


def _policies(page: Any) -> list[tuple[int, str]]:
    """(id, name pattern) of one page of GET .../environments/{name}/deployment-branch-policies."""
    return [(int(policy["id"]), str(policy["name"])) for policy in page.get("branch_policies") or []]


def plan_changes(api: GitHubApi, repo: Repository, config: EnvironmentsFile) -> list[EnvironmentChange]:
    resolver = ReviewerResolver(api, repo.owner)
    changes = []
    for name, spec in config.environments.items():
        current = read_environment(api, repo, name)
        wanted = Settings.wanted(spec, tuple(resolver.resolve(reviewer) for reviewer in spec.reviewers))
        changes.append(plan_environment(name, spec, wanted, current))
    return changes


def environment_body(settings: Settings) -> EnvironmentBody:
    """The request body of PUT /repos/{owner}/{repo}/environments/{name}."""
    policy: BranchPolicyBody | None = None  # all branches
    if settings.branch_policy != "all":
        custom = settings.branch_policy == "custom"
        policy = {"protected_branches": not custom, "custom_branch_policies": custom}
    return {
        "wait_timer": settings.wait_timer,
        "prevent_self_review": settings.prevent_self_review,
        "reviewers": [{"type": r.type, "id": r.id} for r in settings.reviewers] or None,
        "deployment_branch_policy": policy,
        "can_admins_bypass": settings.can_admins_bypass,
    }


def apply(api: GitHubApi, repo: Repository, change: EnvironmentChange) -> None:
    """Make `change`: the PUT first (custom branch policies need it), then the branch policies,
    then the AZURE_CLIENT_ID variable (the environment exists by then)."""
    repos, actions = api.rest.repos, api.rest.actions
    owner, name, env = repo.owner, repo.name, segment(change.name)
    with api.answers():
        if change.needs_put:
            repos.create_or_update_environment(
                owner=owner, repo=name, environment_name=env, data=environment_body(change.settings)
            )
        for pattern in change.add_branches:
            repos.create_deployment_branch_policy(
                owner=owner, repo=name, environment_name=env, name=pattern, type="branch"
            )
        for policy_id, _ in change.remove_policies:
            repos.delete_deployment_branch_policy(
                owner=owner, repo=name, environment_name=env, branch_policy_id=policy_id
            )
        if not change.sets_client_id:
            return
        if change.current_client_id is None:
            actions.create_environment_variable(
                owner=owner, repo=name, environment_name=env, name=CLIENT_ID_VARIABLE, value=change.client_id
            )
        else:
            actions.update_environment_variable(
                owner=owner,
                repo=name,
                environment_name=env,
                name=CLIENT_ID_VARIABLE,
                data={"name": CLIENT_ID_VARIABLE, "value": change.client_id},
            )
