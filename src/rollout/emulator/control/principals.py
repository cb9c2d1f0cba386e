"""Who a bearer token belongs to: the emulator's owner (the management token, Owner everywhere) or
an identity (a token the emulator signed for a client id the identities file knows, with that
client id's role assignments). Anything else is nobody."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from rollout.emulator import identity_tokens
from rollout.emulator.identities import IdentityFile
from rollout.emulator.rbac import Principal, owner


class Principals:
    """Resolves bearer tokens against one management token and one identities file."""

    def __init__(
        self,
        management_token: str,
        identities: IdentityFile | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._management_token = management_token
        self._identities = identities
        self._clock = clock
        self._owner = owner()

    def resolve(self, token: str) -> Principal | None:
        """The principal a bearer token stands for, None when it stands for nobody."""
        if not token:
            return None
        if hmac.compare_digest(token.encode(), self._management_token.encode()):
            return self._owner
        if self._identities is None:
            return None
        claims = identity_tokens.verify(self._management_token, token, now=self._clock())
        if claims is None:
            return None
        assignments = self._identities.assignments(claims.client_id)
        if assignments is None:
            return None
        return Principal(claims.client_id, claims.object_id, assignments)

    def from_header(self, authorization: str) -> Principal | None:
        """The principal of an `Authorization: Bearer <token>` header."""
        scheme, _, token = authorization.partition(" ")
        return self.resolve(token.strip()) if scheme.lower() == "bearer" else None
