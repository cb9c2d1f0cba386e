"""`.github/environments.yml`, the file of GitHub environments as code: reviewers, self-review,
wait timer, admin bypass, deployment branches and the Azure identity per environment; the
protection of branches and the code owners (read by `rollout.github.branch_protection`).
`rollout github configure` compares it with GitHub's settings and applies it
(`rollout.github.configure`); `rollout init` writes a first one (`starter_config`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rollout.core.errors import UserError
from rollout.github.roles import PULL_REQUEST_ROLE, SERVING_ROLES
from rollout.github.yaml_file import read_yaml

MAX_REVIEWERS = 6
MAX_WAIT_TIMER_MINUTES = 43_200
# The environment variable holding the client ID of the environment's Azure identity, which the
# workflows' azure/login reads (an environment's variable wins over a repository's).
CLIENT_ID_VARIABLE = "AZURE_CLIENT_ID"
# The repository variable holding the client ID of the pull requests' identity, which the
# pull-request check's azure/login reads (its job runs in no environment).
PULL_REQUEST_CLIENT_ID_VARIABLE = "AZURE_PULL_REQUEST_CLIENT_ID"
RoleKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


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
    # The Azure roles its identity gets: files .github/roles/<name>.json (`rollout github roles`).
    roles: list[RoleKey] = []
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

    @model_validator(mode="after")
    def _no_admin_bypass_where_users_are_served(self) -> EnvironmentSpec:
        serving = [role for role in SERVING_ROLES if role in self.roles]
        if serving and self.can_admins_bypass:
            raise ValueError(
                f"its identity {SERVING_ROLES[serving[0]]} ({serving[0]}): set `can_admins_bypass: false` "
                "so that no admin skips its rules"
            )
        return self


class PullRequestsSpec(BaseModel):
    """The identity the pull-request check's rehearsal logs in with: no environment's (its
    federated credential's subject is `repo:OWNER/REPO:pull_request`), set as the repository's
    AZURE_PULL_REQUEST_CLIENT_ID variable, with read-only roles."""

    model_config = ConfigDict(extra="forbid")
    identity: Identity
    roles: list[RoleKey] = [PULL_REQUEST_ROLE]

    @model_validator(mode="after")
    def _serves_nothing(self) -> PullRequestsSpec:
        for role, power in SERVING_ROLES.items():
            if role in self.roles:
                raise ValueError(f"a pull request's identity must not hold {role}: it {power}")
        return self


def pull_request_subject(repo: str) -> str:
    """The OIDC subject GitHub gives a pull request's job that runs in no environment."""
    return f"repo:{repo}:pull_request"


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
    pull_requests: PullRequestsSpec | None = None
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
        shared = self.pull_requests and seen.get(self.pull_requests.identity.client_id)
        if shared:
            raise ValueError(
                f"pull_requests shares the identity of environment {shared}; "
                "a pull request's check logs in with an identity of its own, which only reads"
            )
        return self


def load_config(path: Path) -> EnvironmentsFile:
    data = read_yaml(path, str(path))
    try:
        return EnvironmentsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UserError(f"{path}: {where}: {first['msg']}") from None


def starter_config(
    release_environment: str,
    dispatch_environment: str,
    stage_environments: list[str],
    roles: Callable[[str], tuple[str, ...]] = lambda _: (),
    safety_net_environment: str | None = None,
) -> str:
    """A first `.github/environments.yml`: every environment limited to `main`, with placeholders
    for the identities (`rollout github configure` refuses them until they are replaced), the roles
    `roles` names for each, and a note where reviewers go (a stage gated by no one runs as soon as
    the previous one passes). `safety_net_environment`: the release's safety-net rollback's."""
    net = [safety_net_environment] if safety_net_environment else []
    names = list(dict.fromkeys([release_environment, dispatch_environment, *net, *stage_environments]))
    lines = [
        "# GitHub environments that gate the release workflow (.github/workflows/release.yml) and the",
        "# manual rollback (.github/workflows/rollback.yml): one per stage of",
        f"# deployments/release.yml, `{release_environment}` for the jobs that write no endpoint (deploy,",
        f"# acceptance, retire), `{dispatch_environment}` for the first job of a release started by hand",
        "# (give it reviewers)"
        + (f", and `{safety_net_environment}` for the release's safety-net rollback." if net else "."),
        "# Put the client ID of each environment's own Azure identity in place of the zeros, add",
        "# reviewers to the stages (`reviewers: [{team: SLUG}]`, `prevent_self_review: true`, a",
        "# `wait_timer` in minutes), then apply with `rollout github configure --repo OWNER/REPO`",
        "# (a dry run unless --apply). `roles` are the Azure roles of each environment's identity",
        "# (.github/roles/<name>.json): `rollout github roles` prints the az commands that create and",
        "# assign them.",
        "environments:",
    ]
    placeholder = "00000000-0000-0000-0000-000000000000"
    for name in names:
        named = roles(name)
        role_line = f"    roles: [{', '.join(named)}]\n" if named else ""
        identity = f"    identity:\n      client_id: {placeholder}\n"
        bypass = "    can_admins_bypass: false\n" if set(SERVING_ROLES) & set(named) else ""
        lines.append(f"  {name}:\n{identity}{role_line}    branches: [main]\n{bypass}")
    lines += [
        "# The pull-request check (.github/workflows/pull-request.yml) reads the model versions it",
        "# rehearses with an identity of its own, in no environment: its federated credential's",
        "# subject is repo:OWNER/REPO:pull_request, and `rollout github configure` sets its client ID",
        f"# as the repository's {PULL_REQUEST_CLIENT_ID_VARIABLE} variable.",
        f"pull_requests:\n  identity:\n    client_id: {placeholder}\n  roles: [{PULL_REQUEST_ROLE}]\n",
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
