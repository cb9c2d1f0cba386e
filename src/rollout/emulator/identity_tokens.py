"""The bearer tokens the emulator issues to identities (no HTTP, no files).

An identity's token is a JWT, as Entra ID's are, with the claims clients and ARM read: `appid`
(the client id), `oid` (its object id), `tid`, `aud`, `iat`, `nbf`, `exp`; signed with HS256 under
the emulator's management token, so only the emulator's owner can issue one and nobody can change
the client id it names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from rollout.emulator.rbac import object_id_of

TENANT_ID = "00000000-0000-0000-0000-000000000000"
_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    object_id: str
    expires: int


def issue(key: str, client_id: str, *, audience: str, now: float, ttl: float) -> str:
    """A signed token for `client_id`, valid from `now` for `ttl` seconds."""
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + ttl),
        "appid": client_id,
        "oid": object_id_of(client_id),
        "sub": object_id_of(client_id),
        "tid": TENANT_ID,
        "idtyp": "app",
    }
    signed = _b64(json.dumps(_HEADER).encode()) + "." + _b64(json.dumps(claims).encode())
    return signed + "." + _signature(key, signed)


def verify(key: str, token: str, *, now: float) -> TokenClaims | None:
    """The claims of a token this key signed that has not expired; None for anything else."""
    signed, _, signature = token.rpartition(".")
    if not signed or not key or not hmac.compare_digest(signature.encode(), _signature(key, signed).encode()):
        return None
    try:
        claims = json.loads(_unb64(signed.partition(".")[2]))
        client_id, expires = str(claims["appid"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= now or int(claims.get("nbf", 0)) > now + 300:
        return None
    return TokenClaims(client_id, str(claims.get("oid") or object_id_of(client_id)), expires)


def _signature(key: str, signed: str) -> str:
    return _b64(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
