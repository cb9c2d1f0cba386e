"""The facts the doctor's rules judge, as read from a target (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rollout.azureml.vm_quota import Capacity, QuotaUnknown
from rollout.doctor.permissions import Permissions
from rollout.github.branch_protection import BranchChange
from rollout.github.environments_plan import EnvironmentChange
from rollout.github.pull_request_variable import VariableChange

ScopeKind = Literal["workspace", "endpoint", "lock container"]


@dataclass(frozen=True)
class CredentialFacts:
    """Who answered the credential chain, for which cloud, and the audience of its token."""

    credential: str | None  # the credential that gave a token (None: none did)
    cloud: str  # the target's cloud, in words
    resource_manager: str  # the cloud's resource manager, the audience expected
    audience: str | None = None  # the token's `aud` (None: not a JWT, e.g. the emulator's owner)
    error: str | None = None  # why no credential gave a token


@dataclass(frozen=True)
class NeededRole:
    """A role a job needs: its actions and data actions, and where it is assigned."""

    key: str
    actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    on_container: bool  # the lock's role is assigned on the lock's container


@dataclass(frozen=True)
class IdentityFacts:
    """An environment's identity: the roles its jobs need and its permissions at each scope (a
    scope missing from `permissions` could not be read, `errors` says why)."""

    environment: str
    client_id: str | None  # None: the caller itself (on Azure, the doctor runs as the job would)
    needs: tuple[NeededRole, ...]
    permissions: dict[ScopeKind, Permissions] = field(default_factory=dict)
    errors: dict[ScopeKind, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LockFacts:
    """The release lock's container and the caller's permissions on it."""

    account: str
    container: str
    permissions: Permissions | None  # None: not readable, `error` says why
    needed_data_actions: tuple[str, ...]
    error: str | None = None
    exists: bool | None = None  # None: not known (`error` says why)


@dataclass(frozen=True)
class DeploymentShape:
    """What the doctor compares between a slot's spec and its live deployment."""

    instance_type: str | None
    instance_count: int | None
    request_settings: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotFacts:
    slot: str
    spec: DeploymentShape
    live: DeploymentShape | None  # None: not deployed
    role: str  # live, candidate or idle


@dataclass(frozen=True)
class EndpointFacts:
    """The endpoint's spec and live state (`exists` False: not created yet)."""

    name: str
    exists: bool
    spec_auth_mode: str | None
    live_auth_mode: str | None = None
    slots: tuple[SlotFacts, ...] = ()
    idle_slot: str | None = None
    release_in_progress: bool = False


@dataclass(frozen=True)
class MetricFacts:
    """The Azure Monitor metrics the analysis reads, and those published on the endpoint's resource."""

    resource_id: str
    needed: tuple[str, ...]
    published: tuple[str, ...] | None  # None: not read, `error` says why
    error: str | None = None


@dataclass(frozen=True)
class QuotaFacts:
    """The VM core quota for the slot the next release deploys into (`slot` None: a release is in
    progress, its candidate holds its cores already)."""

    slot: str | None
    instance_type: str | None = None
    reading: Capacity | QuotaUnknown | None = None


@dataclass(frozen=True)
class GitHubNotChecked:
    """The GitHub side was not read: `reason` says why (no token, no repository)."""

    reason: str


@dataclass(frozen=True)
class GitHubFacts:
    """The repository's settings on GitHub against `.github/environments.yml`: what `rollout github
    configure` would change (an empty change: in step), and how `.github/CODEOWNERS` differs from
    the file's `code_owners`. `error`: GitHub could not be read (the changes are then empty);
    `declared` False: the project has no environments file."""

    repo: str
    declared: bool = True
    environments: tuple[EnvironmentChange, ...] = ()
    branches: tuple[BranchChange, ...] = ()
    variable: VariableChange | None = None
    codeowners: tuple[str, ...] = ()
    error: str | None = None
