"""A doctor run: read the facts of a project's target, judge each (`rollout.doctor.rules`)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError

from rollout.azureml.local_target import LocalTarget
from rollout.azureml.vm_quota import read_capacity
from rollout.core.errors import UserError
from rollout.doctor import gather, github_rules, github_settings, rules
from rollout.doctor.checks import Check, Diagnosis
from rollout.doctor.facts import EndpointFacts, IdentityFacts, QuotaFacts, ScopeKind
from rollout.doctor.permissions import Permissions
from rollout.github.defaults import ENVIRONMENTS_FILE
from rollout.github.environments_config import load_config
from rollout.github.roles import PULL_REQUEST_ROLE, environment_roles
from rollout.release.context import ReleaseContext
from rollout.release.roles import idle_slot

if TYPE_CHECKING:
    from rollout.azureml.connection import Connection
    from rollout.project.specs import Project

LOCK_ROLE = "rollout-lock"
PULL_REQUESTS = "pull_requests"  # `--environment pull_requests`: the pull requests' identity (no environment)
# The checks `--only` selects; those that read the target follow the credential's line.
OFFLINE_AREAS = ("workflows", "github")
TARGET_AREAS = ("permissions", "lock", "endpoint", "quota", "metrics")
AREAS = OFFLINE_AREAS + TARGET_AREAS


def diagnose(
    conn: Connection,
    project: Project,
    environments: list[str],
    github: github_settings.GitHubAccess | None = None,
    only: frozenset[str] | None = None,
) -> Diagnosis:
    """Every check (or those of the areas in `only`), in order: the credential, the workflows, the
    GitHub side, each environment's identity, the lock, the endpoint and its slots, the quota, the
    metrics. The target is not touched when no area of `only` reads it."""
    areas = frozenset(AREAS) if only is None else only
    checks: list[Check] = []
    if "workflows" in areas:
        checks.append(rules.workflows_check(gather.workflow_problems(project.root)))
    if "github" in areas:
        checks.extend(github_rules.github_checks(github_settings.read_github(project.root, github)))
    if areas.isdisjoint(TARGET_AREAS):
        return Diagnosis(conn.target.name, checks)
    credential, token = gather.read_credential(conn.target)
    checks.insert(0, rules.credential_check(credential))
    if token is None:
        return Diagnosis(conn.target.name, checks)
    ctx = ReleaseContext(conn, project)
    try:
        exists = ctx.exists()
    except AzureError as error:  # the caller cannot read the workspace: nothing else can be checked
        reason = " ".join(str(getattr(error, "message", None) or error).split())
        advice = "give the caller a role that reads the workspace (the gate's, `rollout-gate`)"
        return Diagnosis(conn.target.name, [*checks, Check("workspace", "read", False, reason, advice)])
    auth_mode = str(project.endpoint.auth_mode or "key")
    place = None if areas.isdisjoint(("permissions", "lock")) else _lock_place(conn, project, checks)
    workspace = gather.workspace_scope(conn.ml)
    scopes: dict[ScopeKind, str] = {
        "workspace": workspace,
        # before its creation, the roles on the workspace (or above) are those the endpoint gets
        "endpoint": f"{workspace}/onlineEndpoints/{project.endpoint_name}" if exists else workspace,
    }
    if place is not None:
        scopes["lock container"] = gather.container_scope(conn.ml, place[0], place[1])
    if "permissions" in areas:
        for environment in environments:
            checks.extend(rules.identity_checks(_identity(conn, project, environment, token, scopes)))
    if place is not None and "lock" in areas:
        needed = gather.needed_role(project.root, LOCK_ROLE, auth_mode)
        checks.append(rules.lock_check(gather.lock_facts(conn, token, place, needed)))
    if areas.isdisjoint(("endpoint", "quota", "metrics")):
        return Diagnosis(conn.target.name, checks)
    endpoint = _endpoint(ctx, project, exists)
    if "endpoint" in areas:
        checks.extend(rules.endpoint_checks(endpoint))
    if "quota" in areas:
        checks.append(rules.quota_check(_quota(conn, project, endpoint)))
    if exists and "metrics" in areas:
        checks.append(rules.metrics_check(gather.metric_facts(conn, str(ctx.endpoint().id))))
    return Diagnosis(conn.target.name, checks)


def _lock_place(conn: Connection, project: Project, checks: list[Check]) -> tuple[str, str, str] | None:
    """The lock's account, container and URL (None, with a failed check: not found)."""
    settings = project.plan.lock
    try:
        return gather.lock_place(conn, settings.account_url, settings.container)
    except AzureError as error:  # the default datastore could not be read
        reason = " ".join(str(getattr(error, "message", None) or error).split())
        checks.append(
            Check(
                "lock",
                "container",
                False,
                f"cannot find the lock's container: {reason}",
                "name the lock's `account_url` and `container` in the release plan",
            )
        )
        return None


def _identity(
    conn: Connection, project: Project, environment: str, caller_token: str, scopes: dict[ScopeKind, str]
) -> IdentityFacts:
    """An environment's identity and its permissions at each scope (on the emulator, read with a
    token of its own; on Azure, the caller's)."""
    keys, declared_id = _declared_identity(project, environment)
    auth_mode = str(project.endpoint.auth_mode or "key")
    needs = tuple(gather.needed_role(project.root, key, auth_mode) for key in keys)
    target = conn.target
    client_id: str | None = None
    token = caller_token
    if isinstance(target, LocalTarget):
        client_id = declared_id or str(uuid.uuid5(uuid.NAMESPACE_URL, environment))
        token = target.existing_identity_token(client_id)
    permissions: dict[ScopeKind, Permissions] = {}
    errors: dict[ScopeKind, str] = {}
    for kind, scope in scopes.items():
        try:
            permissions[kind] = gather.read_permissions(conn, token, scope)
        except gather.Unreadable as error:
            errors[kind] = str(error)
    return IdentityFacts(environment, client_id, needs, permissions, errors)


def _declared_identity(project: Project, environment: str) -> tuple[list[str], str | None]:
    """The roles an environment's identity needs and its client ID as the environments file
    declares them (None: not declared); `pull_requests` names the pull requests' identity."""
    config_path = project.root / ENVIRONMENTS_FILE
    config = load_config(config_path) if config_path.is_file() else None
    if environment == PULL_REQUESTS:
        pull_requests = config.pull_requests if config else None
        if pull_requests is None:
            return [PULL_REQUEST_ROLE], None
        return list(pull_requests.roles), str(pull_requests.identity.client_id)
    declared = config.environments if config else {}
    spec = declared.get(environment)
    if declared and spec is None:
        raise UserError(
            f"--environment {environment}: {ENVIRONMENTS_FILE} declares no such environment "
            f"(it declares {', '.join(sorted(declared))})"
        )
    keys = spec.roles if spec and spec.roles else list(environment_roles(environment))
    return keys, str(spec.identity.client_id) if spec else None


def _endpoint(ctx: ReleaseContext, project: Project, exists: bool) -> EndpointFacts:
    spec_auth = str(project.endpoint.auth_mode) if project.endpoint.auth_mode else None
    if not exists:
        return EndpointFacts(project.endpoint_name, False, spec_auth)
    endpoint = ctx.endpoint()
    live = ctx.deployments()
    roles = ctx.roles(endpoint)

    def role(name: str) -> str:
        if name == roles.candidate:
            return "candidate"
        return "live" if name == roles.live else "idle"

    slots = tuple(
        gather.slot_facts(slot, spec, live.get(str(spec.name)), role(str(spec.name)))
        for slot, spec in project.deployments.items()
    )
    idle = None if roles.in_progress else idle_slot(list(project.deployments), roles.live)
    return EndpointFacts(
        project.endpoint_name,
        True,
        spec_auth,
        str(endpoint.auth_mode) if endpoint.auth_mode else None,
        slots,
        idle,
        roles.in_progress,
    )


def _quota(conn: Connection, project: Project, endpoint: EndpointFacts) -> QuotaFacts:
    """The quota for the slot the next release deploys into (replacing what it holds now)."""
    if not endpoint.exists:
        slot: str | None = idle_slot(list(project.deployments), None)
    else:
        slot = None if endpoint.release_in_progress else endpoint.idle_slot
    if slot is None:
        return QuotaFacts(None)
    spec = project.deployments[slot]
    live = next((s.live for s in endpoint.slots if s.slot == slot), None)
    replacing = (live.instance_type, live.instance_count or 1) if live and live.instance_type else None
    instance_type = str(spec.instance_type)
    reading = read_capacity(conn.ml, instance_type, int(spec.instance_count or 1), replacing)
    return QuotaFacts(slot, instance_type, reading)
