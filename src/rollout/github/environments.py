"""GitHub environments as code: `.github/environments.yml` (reviewers, self-review, wait timer, admin
bypass, deployment branches and the Azure identity per environment; the protection of branches
and the code owners, read by `rollout.github.branch_protection`), compared with GitHub's settings
and applied through its REST API. `scripts/configure_environments.py` is the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote
from uuid import UUID

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

API_VERSION = "2022-11-28"
DEFAULT_CONFIG = Path(".github/environments.yml")
DEFAULT_API_URL = "https://api.github.com"
MAX_REVIEWERS = 6
MAX_WAIT_TIMER_MINUTES = 43_200
# The environment variable holding the client ID of the environment's Azure identity, which the
# workflows' azure/login reads (an environment's variable wins over a repository's).
CLIENT_ID_VARIABLE = "AZURE_CLIENT_ID"
BranchPolicy = Literal["all", "protected", "custom"]


class ConfigError(Exception):
    """A problem with the invocation, the configuration file or GitHub's answer: one line."""


# --- the configuration file -------------------------------------------------------------------


class Reviewer(BaseModel):
    """`user: LOGIN` or `team: SLUG` (or `team: ORG/SLUG`)."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    team: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Reviewer:
        if (self.user is None) == (self.team is None):
            raise ValueError("a reviewer is either `user: LOGIN` or `team: SLUG`")
        return self


class Identity(BaseModel):
    """The Azure identity an environment's jobs log in with (through a federated credential for
    the subject `repo:OWNER/REPO:environment:NAME`)."""

    model_config = ConfigDict(extra="forbid")
    client_id: UUID

    @model_validator(mode="after")
    def _not_a_placeholder(self) -> Identity:
        if self.client_id.int == 0:
            raise ValueError("replace the placeholder with the client ID of the environment's Azure identity")
        return self


class EnvironmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity: Identity
    reviewers: Annotated[list[Reviewer], Field(max_length=MAX_REVIEWERS)] = []
    prevent_self_review: bool = False
    wait_timer: Annotated[int, Field(ge=0, le=MAX_WAIT_TIMER_MINUTES)] = 0
    branches: Literal["all", "protected"] | Annotated[list[str], Field(min_length=1)] = "all"
    can_admins_bypass: bool = True

    @model_validator(mode="after")
    def _self_review_needs_reviewers(self) -> EnvironmentSpec:
        if self.prevent_self_review and not self.reviewers:
            raise ValueError("prevent_self_review needs reviewers")
        return self


class BranchProtectionSpec(BaseModel):
    """What a pull request into the branch needs; applied with PUT .../branches/{branch}/protection."""

    model_config = ConfigDict(extra="forbid")
    required_approving_review_count: Annotated[int, Field(ge=0, le=6)] = 1
    require_code_owner_reviews: bool = True
    dismiss_stale_reviews: bool = True
    require_last_push_approval: bool = True
    required_status_checks: list[str] = []
    strict: bool = True  # the branch must be up to date with the base before merging
    enforce_admins: bool = True
    allow_force_pushes: bool = False
    allow_deletions: bool = False


class EnvironmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    environments: Annotated[dict[str, EnvironmentSpec], Field(min_length=1)]
    branch_protection: dict[str, BranchProtectionSpec] = {}
    # CODEOWNERS patterns and their owners, as `.github/CODEOWNERS` must have them.
    code_owners: dict[str, Annotated[list[Reviewer], Field(min_length=1)]] = {}

    @model_validator(mode="after")
    def _one_identity_per_environment(self) -> EnvironmentsFile:
        seen: dict[UUID, str] = {}
        for name, spec in self.environments.items():
            other = seen.setdefault(spec.identity.client_id, name)
            if other != name:
                raise ValueError(
                    f"environments {other} and {name} share the identity {spec.identity.client_id}; "
                    "each environment logs in with its own"
                )
        return self


def load_config(path: Path) -> EnvironmentsFile:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}".replace("\n", " ")) from None
    try:
        return EnvironmentsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def starter_config(release_environment: str, dispatch_environment: str, stage_environments: list[str]) -> str:
    """A first `.github/environments.yml`: every environment limited to `main`, with placeholders
    for the identities (the script refuses them until they are replaced) and a note where reviewers
    go (a stage gated by no one runs as soon as the previous one passes)."""
    names = list(dict.fromkeys([release_environment, dispatch_environment, *stage_environments]))
    lines = [
        "# GitHub environments that gate the release workflow (.github/workflows/release.yml) and the",
        "# manual rollback (.github/workflows/rollback.yml): one per stage of",
        f"# deployments/release.yml, `{release_environment}` for the jobs that move no live traffic, and",
        f"# `{dispatch_environment}` for the first job of a release started by hand (give it reviewers).",
        "# Put the client ID of each environment's own Azure identity in place of the zeros, add",
        "# reviewers to the stages (`reviewers: [{team: SLUG}]`, `prevent_self_review: true`, a",
        "# `wait_timer` in minutes), then apply with scripts/configure_environments.py.",
        "environments:",
    ]
    lines += [
        f"  {name}:\n    identity:\n      client_id: 00000000-0000-0000-0000-000000000000\n    branches: [main]\n"
        for name in names
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


# --- GitHub's REST API ------------------------------------------------------------------------


class GitHub:
    """The few REST routes this script needs, with GitHub's errors turned into one line."""

    def __init__(self, api_url: str, token: str) -> None:
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "rollout-configure-environments",
            },
            timeout=30.0,
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, json: Any = None, allow_404: bool = False) -> Any:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot reach GitHub at {self._http.base_url}: {exc}") from None
        if response.status_code == 404 and allow_404:
            return None
        if response.status_code >= 400:
            raise ConfigError(
                f"GitHub answered {response.status_code} to {method} {path}: {_message(response)}"
            )
        return response.json() if response.content else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        details = [e.get("message", str(e)) if isinstance(e, dict) else str(e) for e in errors]
        message = f"{message} ({'; '.join(details)})"
    return message or response.reason_phrase


# --- desired and current state ----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ReviewerId:
    type: Literal["Team", "User"]
    id: int
    label: str = field(compare=False)  # login or org/slug, for messages


@dataclass(frozen=True)
class Settings:
    """What PUT /environments/{name} sets, in a form that compares equal when nothing differs."""

    wait_timer: int
    prevent_self_review: bool
    reviewers: tuple[ReviewerId, ...]
    branch_policy: BranchPolicy
    can_admins_bypass: bool

    def body(self) -> dict[str, Any]:
        """The request body of PUT /repos/{owner}/{repo}/environments/{name}."""
        policy = {
            "all": None,
            "protected": {"protected_branches": True, "custom_branch_policies": False},
            "custom": {"protected_branches": False, "custom_branch_policies": True},
        }[self.branch_policy]
        return {
            "wait_timer": self.wait_timer,
            "prevent_self_review": self.prevent_self_review,
            "reviewers": [{"type": r.type, "id": r.id} for r in self.reviewers] or None,
            "deployment_branch_policy": policy,
            "can_admins_bypass": self.can_admins_bypass,
        }


def current_settings(environment: dict[str, Any]) -> Settings:
    """Read an environment as GET /repos/{owner}/{repo}/environments/{name} returns it."""
    wait_timer, prevent_self_review, reviewers = 0, False, []
    for rule in environment.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            wait_timer = int(rule.get("wait_timer") or 0)
        elif rule.get("type") == "required_reviewers":
            prevent_self_review = bool(rule.get("prevent_self_review", False))
            for entry in rule.get("reviewers") or []:
                who = entry.get("reviewer") or {}
                label = who.get("login") or who.get("slug") or str(who.get("id"))
                reviewers.append(ReviewerId(entry["type"], int(who["id"]), label))
    policy = environment.get("deployment_branch_policy")
    branch_policy: BranchPolicy
    if not policy:
        branch_policy = "all"
    elif policy.get("custom_branch_policies"):
        branch_policy = "custom"
    else:
        branch_policy = "protected"
    return Settings(
        wait_timer=wait_timer,
        prevent_self_review=prevent_self_review if reviewers else False,
        reviewers=tuple(sorted(reviewers)),
        branch_policy=branch_policy,
        can_admins_bypass=bool(environment.get("can_admins_bypass", True)),
    )


class ReviewerResolver:
    """Turns user logins and team slugs into the ids GitHub's API takes (cached)."""

    def __init__(self, github: GitHub, owner: str) -> None:
        self._github, self._owner = github, owner
        self._cache: dict[tuple[str, str], ReviewerId] = {}

    def resolve(self, reviewer: Reviewer) -> ReviewerId:
        if reviewer.user is not None:
            key = ("User", reviewer.user)
            path = f"/users/{quote(reviewer.user, safe='')}"
            label = reviewer.user
        else:
            org, _, slug = (reviewer.team or "").rpartition("/")
            org = org or self._owner
            key = ("Team", f"{org}/{slug}")
            path = f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}"
            label = f"{org}/{slug}"
        if key not in self._cache:
            found = self._github.request("GET", path, allow_404=True)
            if found is None:
                kind = "user" if key[0] == "User" else "team"
                raise ConfigError(f"reviewer {kind} {label!r} not found on GitHub (GET {path}: 404)")
            self._cache[key] = ReviewerId(key[0], int(found["id"]), label)  # type: ignore[arg-type]
        return self._cache[key]


def desired_settings(spec: EnvironmentSpec, resolver: ReviewerResolver) -> Settings:
    reviewers = tuple(sorted({resolver.resolve(reviewer) for reviewer in spec.reviewers}))
    branch_policy = spec.branches if isinstance(spec.branches, str) else "custom"
    return Settings(
        wait_timer=spec.wait_timer,
        prevent_self_review=spec.prevent_self_review,
        reviewers=reviewers,
        branch_policy=branch_policy,
        can_admins_bypass=spec.can_admins_bypass,
    )


# --- planning and applying the changes --------------------------------------------------------


@dataclass
class EnvironmentChange:
    name: str
    exists: bool
    settings: Settings
    differences: list[str]
    add_branches: list[str]
    remove_policies: list[tuple[int, str]]  # (policy id, name pattern)
    client_id: str
    current_client_id: str | None  # the environment's AZURE_CLIENT_ID variable, None if unset

    @property
    def needs_put(self) -> bool:
        return not self.exists or bool(self.differences)

    @property
    def sets_client_id(self) -> bool:
        return self.current_client_id != self.client_id

    @property
    def empty(self) -> bool:
        return (
            not self.needs_put
            and not self.add_branches
            and not self.remove_policies
            and not self.sets_client_id
        )


def _describe_reviewers(reviewers: tuple[ReviewerId, ...]) -> str:
    return ", ".join(f"{r.type.lower()} {r.label}" for r in reviewers) or "none"


_SETTINGS_SHOWN: tuple[tuple[str, str, Any], ...] = (
    ("wait_timer", "wait_timer", lambda s: f"{s.wait_timer} min"),
    ("reviewers", "reviewers", lambda s: _describe_reviewers(s.reviewers)),
    ("prevent_self_review", "prevent_self_review", lambda s: str(s.prevent_self_review).lower()),
    (
        "branch_policy",
        "deployment branches",
        lambda s: {"custom": "selected branches"}.get(s.branch_policy, s.branch_policy),
    ),
    ("can_admins_bypass", "can_admins_bypass", lambda s: str(s.can_admins_bypass).lower()),
)


def _differences(current: Settings | None, desired: Settings) -> list[str]:
    """One line per setting that differs (reviewers compare by id, not by name)."""
    if current is None:
        return []
    return [
        f"{label}: {show(current)} -> {show(desired)}"
        for attribute, label, show in _SETTINGS_SHOWN
        if getattr(current, attribute) != getattr(desired, attribute)
    ]


def _env_path(repo: str, name: str) -> str:
    return f"/repos/{repo}/environments/{quote(name, safe='')}"


def _variable(github: GitHub, repo: str, name: str, exists: bool) -> str | None:
    if not exists:
        return None
    found = github.request("GET", f"{_env_path(repo, name)}/variables/{CLIENT_ID_VARIABLE}", allow_404=True)
    return None if found is None else str(found.get("value"))


def list_branch_policies(github: GitHub, repo: str, name: str) -> list[tuple[int, str]]:
    """Every custom deployment branch policy of an environment: (id, name pattern)."""
    policies: list[tuple[int, str]] = []
    page = 1
    while True:
        body = github.request(
            "GET", f"{_env_path(repo, name)}/deployment-branch-policies?per_page=100&page={page}"
        )
        batch = body.get("branch_policies") or []
        policies += [(int(p["id"]), str(p["name"])) for p in batch]
        if len(batch) < 100 or len(policies) >= int(body.get("total_count", 0)):
            return policies
        page += 1


def plan_changes(github: GitHub, repo: str, config: EnvironmentsFile) -> list[EnvironmentChange]:
    resolver = ReviewerResolver(github, repo.split("/")[0])
    changes = []
    for name, spec in config.environments.items():
        current = github.request("GET", _env_path(repo, name), allow_404=True)
        current_state = current_settings(current) if current is not None else None
        desired = desired_settings(spec, resolver)
        add: list[str] = []
        remove: list[tuple[int, str]] = []
        if isinstance(spec.branches, list):
            existing = (
                list_branch_policies(github, repo, name)
                if current_state is not None and current_state.branch_policy == "custom"
                else []
            )
            existing_names = {pattern for _, pattern in existing}
            add = [pattern for pattern in dict.fromkeys(spec.branches) if pattern not in existing_names]
            remove = [(pid, pattern) for pid, pattern in existing if pattern not in spec.branches]
        changes.append(
            EnvironmentChange(
                name,
                current is not None,
                desired,
                _differences(current_state, desired),
                add,
                remove,
                client_id=str(spec.identity.client_id),
                current_client_id=_variable(github, repo, name, current is not None),
            )
        )
    return changes


def describe(change: EnvironmentChange) -> list[str]:
    if change.empty:
        return [f"environment {change.name}: no changes"]
    lines = [f"environment {change.name}: {'update' if change.exists else 'create'}"]
    if not change.exists:
        lines += [f"  {label}: {show(change.settings)}" for _, label, show in _SETTINGS_SHOWN]
    lines += [f"  {difference}" for difference in change.differences]
    lines += [f"  add branch policy: {pattern}" for pattern in change.add_branches]
    lines += [f"  remove branch policy: {pattern}" for _, pattern in change.remove_policies]
    if change.sets_client_id:
        lines.append(f"  {CLIENT_ID_VARIABLE}: {change.current_client_id or 'unset'} -> {change.client_id}")
    return lines


def apply(github: GitHub, repo: str, change: EnvironmentChange) -> None:
    path = _env_path(repo, change.name)
    if change.needs_put:
        github.request("PUT", path, json=change.settings.body())
    for pattern in change.add_branches:
        github.request("POST", f"{path}/deployment-branch-policies", json={"name": pattern, "type": "branch"})
    for policy_id, _ in change.remove_policies:
        github.request("DELETE", f"{path}/deployment-branch-policies/{policy_id}")
    if change.sets_client_id:
        variable = {"name": CLIENT_ID_VARIABLE, "value": change.client_id}
        if change.current_client_id is None:
            github.request("POST", f"{path}/variables", json=variable)
        else:
            github.request("PATCH", f"{path}/variables/{CLIENT_ID_VARIABLE}", json=variable)
