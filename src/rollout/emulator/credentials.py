"""Scoring credentials: endpoint keys and the signed tokens of `aml_token` endpoints.

A token is `<payload>.<signature>`: base64url JSON claims (endpoint, its creation time, expiry)
and their HMAC-SHA256 under the state's signing key. Recreating an endpoint of the same name
invalidates its old tokens (the creation time differs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import time
from collections.abc import Callable

from rollout.emulator.resources import AmlToken, Endpoint

DEFAULT_TOKEN_TTL_SECONDS = 3600.0
KEY_LENGTH = 32
MIN_KEY_VALUE_LENGTH = 16
_KEY_ALPHABET = string.ascii_letters + string.digits


def new_key() -> str:
    """A random endpoint key."""
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))


def acceptable_key_value(value: str) -> bool:
    """Whether a key chosen by the client (Azure's `keyValue`) is long enough and plain."""
    return len(value) >= MIN_KEY_VALUE_LENGTH and set(value) <= set(_KEY_ALPHABET)


def key_matches(endpoint: Endpoint, given: str) -> bool:
    """Whether `given` is the endpoint's primary or secondary key (compared in constant time)."""
    encoded = given.encode()
    primary = hmac.compare_digest(encoded, endpoint.primary_key.encode())
    secondary = hmac.compare_digest(encoded, endpoint.secondary_key.encode())
    return primary or secondary


class TokenSigner:
    """Issues and checks the scoring tokens of `aml_token` endpoints."""

    def __init__(
        self,
        signing_key: str,
        *,
        ttl: float = DEFAULT_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signing_key = signing_key
        self._ttl = ttl
        self._clock = clock

    def issue(self, endpoint: Endpoint) -> AmlToken:
        """A token for the endpoint, valid for the token lifetime, to be refreshed after half of it."""
        now = self._clock()
        expiry = int(now + self._ttl)
        claims = {"endpoint": endpoint.name.lower(), "created": endpoint.created_at, "exp": expiry}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return AmlToken(f"{payload}.{self._sign(payload)}", expiry, int(now + self._ttl / 2))

    def valid(self, endpoint: Endpoint, token: str) -> bool:
        """Whether `token` was issued for this endpoint (this incarnation of it) and has not expired."""
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return False
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            return False
        return (
            claims.get("endpoint") == endpoint.name.lower()
            and claims.get("created") == endpoint.created_at
            and float(claims.get("exp", 0)) > self._clock()
        )

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._signing_key.encode(), payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
