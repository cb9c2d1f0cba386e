"""Giving an identity its roles on the emulator and a token to act with (what Entra ID and
`az role assignment create` do on Azure): the role definitions are read from files in Azure's
`roleDefinition` shape, assigned at the scopes given (by default the emulator's resource group,
which holds its workspace and storage account), kept in the state directory's identities file, and
a token signed for the client id is returned."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from rollout.emulator import identity_tokens
from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID
from rollout.emulator.host import process
from rollout.emulator.host.management_token import ensure_management_token
from rollout.emulator.identities import IdentityFile
from rollout.emulator.rbac import RoleAssignment, RoleDefinition

DEFAULT_SCOPE = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
DEFAULT_TTL_SECONDS = 24 * 3600.0
AUDIENCE = "https://management.azure.com/"  # before the emulator first ran: Azure's public cloud's


@dataclass(frozen=True)
class RoleGrant:
    """A role definition file and the scope to assign it at (None: the emulator's resource group)."""

    definition: Path
    scope: str | None = None

    @classmethod
    def parse(cls, text: str) -> RoleGrant:
        """`FILE` or `FILE@SCOPE`."""
        path, _, scope = text.partition("@")
        return cls(Path(path), scope or None)


def read_role(path: Path) -> RoleDefinition:
    """A role definition file; ValueError naming the file when it is not one."""
    try:
        return RoleDefinition.from_json(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a role definition ({exc})") from None


def grant(
    state_dir: Path, client_id: str, grants: list[RoleGrant], *, ttl: float = DEFAULT_TTL_SECONDS
) -> str:
    """Make `grants` the client id's role assignments and return a token for it."""
    assignments = tuple(RoleAssignment(read_role(g.definition), g.scope or DEFAULT_SCOPE) for g in grants)
    IdentityFile(state_dir).assign(client_id, assignments)
    return token_for(state_dir, client_id, ttl=ttl)


def token_for(state_dir: Path, client_id: str, *, ttl: float = DEFAULT_TTL_SECONDS) -> str:
    """A token for the client id with the roles it has now (none changed; an identity the
    emulator does not know is refused wherever it presents the token)."""
    key = ensure_management_token(state_dir)
    return identity_tokens.issue(key, client_id, audience=audience(state_dir), now=time.time(), ttl=ttl)


def audience(state_dir: Path) -> str:
    """Whom the emulator's tokens are for: its resource manager, as Entra ID gives a token for a
    cloud's resource manager that cloud's audience."""
    recorded = process.status(state_dir)
    return recorded.url.rstrip("/") + "/" if recorded is not None else AUDIENCE
