"""Signing in to a target and reading its workspace: what `rollout target check` reports."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rollout.core.errors import UserError

if TYPE_CHECKING:
    from rollout.azureml.connection import Connection


@dataclass(frozen=True)
class Access:
    """A signed-in target: where it is, its workspace, and until when its token lasts."""

    target: str
    location: str
    workspace: str
    token_expires_on: int  # seconds since the epoch

    @property
    def token_minutes_left(self) -> int:
        return max(0, int(self.token_expires_on - time.time()) // 60)


def check_access(conn: Connection) -> Access:
    """Get a token for the target's scope through its own credential, then read the workspace with it.

    On Azure the credential is DefaultAzureCredential: after `azure/login` it asks the Azure CLI, which
    caches the token of the cloud the target resolved, so later steps need no fresh login.
    """
    from azure.core.exceptions import ClientAuthenticationError

    target, ml = conn.target, conn.ml
    logging.getLogger("azure.identity").setLevel(logging.ERROR)  # the error below says it once
    try:
        token = target.credential().get_token(target.token_scope())
    except ClientAuthenticationError as error:
        attempts = " ".join(str(error.message).split())
        raise UserError(
            f"cannot sign in to {target.location()}: {attempts} (run `az login`; on GitHub, azure/login)"
        ) from None
    workspace = ml.workspaces.get(ml.workspace_name)
    return Access(
        target=target.name,
        location=target.location(),
        workspace=str(workspace.name),
        token_expires_on=int(token.expires_on),
    )
