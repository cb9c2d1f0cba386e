"""The `az` commands that create the roles of `.github/roles/` and assign them to each environment's
identity, as `.github/environments.yml` names them, and the pull requests' identity its roles
(`rollout github roles`; pure: it prints, it sends nothing). A role whose actions are all Azure
Storage's is assigned on the release lock's container; any other on the workspace."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout.core.errors import UserError
from rollout.github.environments_config import EnvironmentsFile, pull_request_subject
from rollout.github.roles import ASSIGNABLE_SCOPE, ROLES_DIR

STORAGE = "Microsoft.Storage/"


@dataclass(frozen=True)
class AzureScope:
    """Where the release runs: the workspace, and the container that holds the release lock."""

    subscription: str
    resource_group: str
    workspace: str
    lock_account: str
    lock_container: str

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        )

    @property
    def container_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{self.lock_account}"
            f"/blobServices/default/containers/{self.lock_container}"
        )


def read_role(root: Path, key: str) -> dict[str, Any]:
    """`.github/roles/<key>.json`, the role an environment names."""
    path = root / ROLES_DIR / f"{key}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{ROLES_DIR / f'{key}.json'} not found (run `rollout workflow render`)") from None
    except ValueError as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("Name"), str):
        raise UserError(f"{path}: not a role definition (it needs a Name)")
    return data


def on_storage_only(role: dict[str, Any]) -> bool:
    """Whether every action of a role is Azure Storage's (so it is assigned on the lock's container)."""
    actions = [*role.get("Actions", []), *role.get("DataActions", [])]
    return bool(actions) and all(str(action).startswith(STORAGE) for action in actions)


def commands(root: Path, config: EnvironmentsFile, scope: AzureScope, repo: str | None = None) -> list[str]:
    """`az role definition create` for each role an environment (or the pull requests' identity)
    names, then `az role assignment create` for each identity and role; the pull requests' lines
    name the federated credential subject of their identity (`repo` OWNER/REPO, if known)."""
    # who gets which roles: each environment's identity, then the pull requests' (no environment)
    holders = [(name, str(spec.identity.client_id), spec.roles) for name, spec in config.environments.items()]
    if config.pull_requests is not None:
        subject = pull_request_subject(repo or "OWNER/REPO")
        who = f"pull requests (federated credential subject {subject})"
        holders.append((who, str(config.pull_requests.identity.client_id), config.pull_requests.roles))
    keys = list(dict.fromkeys(key for _, _, roles in holders for key in roles))
    if not keys:
        raise UserError("no environment of the environments file names its `roles`")
    roles = {key: read_role(root, key) for key in keys}
    assignable = ASSIGNABLE_SCOPE.format(subscription=scope.subscription, resource_group=scope.resource_group)
    lines = []
    for role in roles.values():
        definition = {**role, "AssignableScopes": [assignable]}
        lines.append(
            "az role definition create --role-definition "
            + shlex.quote(json.dumps(definition, separators=(",", ":")))
        )
    for name, client_id, held in holders:
        for key in held:
            role = roles[key]
            where = scope.container_id if on_storage_only(role) else scope.workspace_id
            lines.append(
                f"az role assignment create --assignee {client_id} "
                f"--role {shlex.quote(role['Name'])} "
                f"--scope {shlex.quote(where)}  # {name}"
            )
    return lines
