"""Reading the facts the doctor judges, over the target's own clients; nothing is changed.

Permissions come from ARM's `GET {scope}/providers/Microsoft.Authorization/permissions`, which
answers for the caller only: on Azure the doctor runs as the identity it checks (a job of that
environment); on the local emulator it asks for a token of each environment's identity with the
roles the emulator gives it now (none are changed).
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from typing import TYPE_CHECKING

import httpx

from rollout.azureml.azure_monitor import LATENCY_P95, REQUESTS
from rollout.core.errors import UserError
from rollout.doctor.facts import (
    CredentialFacts,
    DeploymentShape,
    LockFacts,
    MetricFacts,
    NeededRole,
    SlotFacts,
)
from rollout.doctor.permissions import Permissions
from rollout.github.role_commands import on_storage_only
from rollout.github.roles import ROLES_DIR, job_roles
from rollout.github.workflow import RELEASE_WORKFLOW, read_plan
from rollout.github.workflow import check as workflow_check

if TYPE_CHECKING:
    from pathlib import Path

    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

    from rollout.azureml.connection import Connection
    from rollout.azureml.targets import Target

PERMISSIONS_API = "2022-04-01"
PERMISSIONS_SUFFIX = "/providers/Microsoft.Authorization/permissions"
REQUEST_SETTINGS = ("max_concurrent_requests_per_instance", "request_timeout_ms", "max_queue_wait_ms")
_ACCOUNT = re.compile(r"([a-z0-9]+)\.blob\.", re.IGNORECASE)


class Unreadable(Exception):
    """Permissions that could not be read; the message says why in one line."""


def read_credential(target: Target) -> tuple[CredentialFacts, str | None]:
    """Who answers the target's credential chain, and the token it gave (None: none did)."""
    from azure.core.exceptions import ClientAuthenticationError

    credential = target.credential()
    resource_manager = resource_manager_of(target)
    try:
        token = credential.get_token(target.token_scope()).token
    except ClientAuthenticationError as error:
        reason = " ".join(str(error.message).split())
        return CredentialFacts(None, target.location(), resource_manager, error=reason), None
    facts = CredentialFacts(
        credential_name(credential), target.location(), resource_manager, audience=audience_of(token)
    )
    return facts, token


def resource_manager_of(target: Target) -> str:
    return target.token_scope().removesuffix("/.default").rstrip("/")


def credential_name(credential: TokenCredential) -> str:
    """The credential's class, and for a chain (DefaultAzureCredential) the one that answered."""
    name = type(credential).__name__
    answered = getattr(credential, "_successful_credential", None)
    return f"{name} ({type(answered).__name__})" if answered is not None else name


def audience_of(token: str) -> str | None:
    """The `aud` claim of a JWT (not verified: only read to say whom the token is for)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    audience = claims.get("aud") if isinstance(claims, dict) else None
    return str(audience) if audience else None


def read_permissions(conn: Connection, token: str, scope: str) -> Permissions:
    """The token's holder's permissions at `scope`; Unreadable when ARM does not answer them."""
    url = resource_manager_of(conn.target) + scope + PERMISSIONS_SUFFIX
    try:
        reply = httpx.get(
            url,
            params={"api-version": PERMISSIONS_API},
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=conn.verify)
            if isinstance(conn.verify, str)
            else conn.verify,
            timeout=30,
        )
    except httpx.HTTPError as error:
        raise Unreadable(f"{type(error).__name__}: {error}") from None
    if reply.status_code != 200:
        raise Unreadable(f"{reply.status_code} {_error_text(reply)}")
    return Permissions.from_json(reply.json().get("value") or [])


def _error_text(reply: httpx.Response) -> str:
    try:
        error = reply.json().get("error") or {}
        return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    except ValueError:
        return reply.text[:200]


def workspace_scope(ml: MLClient) -> str:
    return (
        f"/subscriptions/{ml.subscription_id}/resourceGroups/{ml.resource_group_name}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{ml.workspace_name}"
    )


def container_scope(ml: MLClient, account: str, container: str) -> str:
    """A container of a storage account in the workspace's resource group."""
    return (
        f"/subscriptions/{ml.subscription_id}/resourceGroups/{ml.resource_group_name}"
        f"/providers/Microsoft.Storage/storageAccounts/{account}/blobServices/default/containers/{container}"
    )


def needed_role(root: Path, key: str, auth_mode: str) -> NeededRole:
    """A role of `.github/roles/<key>.json`, else rollout's own of that name; a UserError if
    neither, or if the file is not a role definition's JSON."""
    path = root / ROLES_DIR / f"{key}.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise UserError(f"{path}: not a role definition's JSON ({error})") from None
    else:
        role = next((r for r in job_roles(auth_mode) if r.key == key), None)
        if role is None:
            raise UserError(f"role {key}: no {path} and rollout has no role of that name")
        data = json.loads(role.definition())
    return NeededRole(
        key,
        tuple(data.get("Actions") or ()),
        tuple(data.get("DataActions") or ()),
        on_storage_only(data),
    )


def lock_place(conn: Connection, account_url: str | None, container: str | None) -> tuple[str, str, str]:
    """The release lock's storage account, container and blob service URL: the plan's, else the
    default datastore's."""
    if account_url is None or container is None:
        store = conn.ml.datastores.get_default()
        account = str(getattr(store, "account_name", "") or "")
        container = container or str(getattr(store, "container_name", "") or "")
        suffix = str(getattr(store, "endpoint", "") or "core.windows.net")
        account_url = account_url or conn.target.blob_account_url(account, suffix)
    found = _ACCOUNT.search(account_url)
    return (found.group(1) if found else account_url), container, account_url


def lock_facts(conn: Connection, token: str, place: tuple[str, str, str], needed: NeededRole) -> LockFacts:
    """The lock's container: whether it exists (read with the target's credential, as the lock
    reaches it) and the caller's permissions on it."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient

    from rollout.azureml.sdk import azure_message

    account, container, account_url = place
    client = ContainerClient(
        account_url,
        container,
        credential=conn.target.credential(),
        connection_verify=conn.target.ca_file() or True,
    )
    exists: bool | None = None
    reason: str | None = None
    try:
        client.get_container_properties()
        exists = True
    except ResourceNotFoundError:
        exists = False
    except AzureError as error:
        reason = azure_message(error)
    try:
        permissions = read_permissions(conn, token, container_scope(conn.ml, account, container))
    except Unreadable as error:
        return LockFacts(account, container, None, needed.data_actions, str(error), exists)
    return LockFacts(
        account, container, permissions, needed.data_actions, None if exists is not None else reason, exists
    )


def shape(deployment: object) -> DeploymentShape:
    """What the doctor compares of a deployment (a spec or a live one)."""
    settings = getattr(deployment, "request_settings", None)
    return DeploymentShape(
        getattr(deployment, "instance_type", None),
        getattr(deployment, "instance_count", None),
        {name: getattr(settings, name, None) for name in REQUEST_SETTINGS} if settings else {},
    )


def slot_facts(slot: str, spec: object, live: object | None, role: str) -> SlotFacts:
    return SlotFacts(slot, shape(spec), shape(live) if live is not None else None, role)


def metric_facts(conn: Connection, resource_id: str) -> MetricFacts:
    """The metric definitions of the endpoint's resource, read with azure-monitor-query's client on
    the target's resource manager (as the analysis reads the metrics themselves)."""
    from azure.core.exceptions import AzureError
    from azure.monitor.query import MetricsQueryClient

    from rollout.azureml.sdk import azure_message

    target = conn.target
    manager = resource_manager_of(target)
    options = {"connection_verify": target.ca_file()} if target.ca_file() else {}
    client = MetricsQueryClient(target.credential(), endpoint=manager, audience=manager, **options)
    needed = (REQUESTS, LATENCY_P95)
    try:
        published = tuple(str(d.name) for d in client.list_metric_definitions(resource_id))
    except AzureError as error:
        return MetricFacts(resource_id, needed, None, azure_message(error))
    return MetricFacts(resource_id, needed, published)


def workflow_problems(root: Path) -> list[str] | None:
    """What differs between the project's workflows and those its plan renders; None when it has
    no release workflow at all."""
    if not (root / RELEASE_WORKFLOW).exists():
        return None
    return workflow_check(root, read_plan(root))
