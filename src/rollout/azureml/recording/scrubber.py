"""The scrubber: every secret and id out of an exchange before it is written.

- headers that carry credentials (Authorization, cookies, API keys): their value;
- JSON fields named like a secret (`primaryKey`, `secondaryKey`, `accessToken`, `key`, `password`,
  `sasToken`, `connectionString`...): their string values, in bodies of any depth;
- JWTs, bearer tokens, SAS signatures (`sig=`), connection-string keys (`AccountKey=`) anywhere:
  URLs, headers, JSON strings, text bodies;
- every value scrubbed once, wherever it shows up again in the same process (a key echoed in an
  error message, say);
- GUIDs (subscription, tenant, principal, operation ids) anywhere: a placeholder, GUID-shaped and
  stable (the same id gives the same placeholder with the same salt: every process of a recording
  shares its directory's salt), so that a replay can put its own subscription in their place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from rollout.azureml.recording.exchanges import Exchange, Message

SCRUBBED = "<scrubbed>"
PLACEHOLDER_PREFIX = "00000000-5c2b-4000-8000-"  # then 12 hex digits
GUID = re.compile(r"(?<![0-9a-fA-F-])[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?![0-9a-fA-F-])")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
SAS_SIGNATURE = re.compile(r"(?i)(\b(?:sig|signature)=)[^&\s\"';,]+")
CONNECTION_KEY = re.compile(
    r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|SharedSecretValue|Password|Pwd)=[^;\s\"']+"
)
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-ms-authorization-auxiliary",
        "x-ms-copy-source-authorization",
        "cookie",
        "set-cookie",
        "ocp-apim-subscription-key",
        "api-key",
        "x-functions-key",
        "x-ms-encryption-key",
    }
)
# JSON field names (lower case, without '_' and '-') whose string values are secrets, and endings
SECRET_FIELDS = frozenset({"key", "keys", "token", "password", "secret", "credential", "sig", "signature"})
SECRET_ENDINGS = ("key", "keys", "token", "password", "secret", "connectionstring", "signature")
NOT_SECRET_FIELDS = frozenset({"authmode", "keytype", "tokentype", "secretstype", "credentialstype"})
MIN_SECRET = 16  # shorter scrubbed values are not searched for elsewhere (too likely to be words)


def is_secret_field(name: str) -> bool:
    normal = name.lower().replace("_", "").replace("-", "")
    if normal in NOT_SECRET_FIELDS:
        return False
    return normal in SECRET_FIELDS or normal.endswith(SECRET_ENDINGS)


def placeholder(guid: str, salt: str) -> str:
    """The stable placeholder of a GUID (a placeholder is its own)."""
    lowered = guid.lower()
    if lowered.startswith(PLACEHOLDER_PREFIX):
        return lowered
    digest = hashlib.sha256(f"{salt}:{lowered}".encode()).hexdigest()
    return PLACEHOLDER_PREFIX + digest[:12]


class Scrubber:
    """Scrubs exchanges; remembers what it scrubbed, to scrub it wherever it shows up again."""

    def __init__(self, salt: str) -> None:
        self._salt = salt
        self._secrets: set[str] = set()

    def scrub(self, exchange: Exchange) -> Exchange:
        # first what is a secret by its place (learning its value), then every string
        request, response = self._by_place(exchange.request), self._by_place(exchange.response)
        return replace(
            exchange,
            host=self.text(exchange.host),
            path=self.text(exchange.path),
            query=self.text(exchange.query),
            request=self._strings(request),
            response=self._strings(response),
        )

    def text(self, value: str) -> str:
        """A string with every known secret, token, signature and GUID replaced."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, SCRUBBED)
        value = JWT.sub(lambda match: self._learn(match.group(0)), value)
        value = BEARER.sub(lambda match: f"{match.group(1)} {self._learn(match.group(0).split()[-1])}", value)
        value = SAS_SIGNATURE.sub(lambda match: match.group(1) + SCRUBBED, value)
        value = CONNECTION_KEY.sub(lambda match: f"{match.group(1)}={SCRUBBED}", value)
        return GUID.sub(lambda match: placeholder(match.group(0), self._salt), value)

    def _learn(self, secret: str) -> str:
        if len(secret) >= MIN_SECRET and secret != SCRUBBED:
            self._secrets.add(secret)
        return SCRUBBED

    def _by_place(self, message: Message) -> Message:
        headers = {
            name: self._learn_value(value) if name.lower() in SECRET_HEADERS else value
            for name, value in message.headers.items()
        }
        return Message(headers=headers, body=self._fields(message.body), text=message.text)

    def _learn_value(self, value: str) -> str:
        """A secret header's value: the credential after its scheme (`Bearer ...`) and the whole."""
        parts = value.split()
        if parts:
            self._learn(parts[-1])
        return self._learn(value)

    def _fields(self, value: Any, secret: bool = False) -> Any:
        if isinstance(value, dict):
            return {
                key: self._fields(item, secret or is_secret_field(str(key))) for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._fields(item, secret) for item in value]
        if secret and isinstance(value, str):
            return self._learn(value)
        return value

    def _strings(self, message: Message) -> Message:
        return Message(
            headers={name: self.text(value) for name, value in message.headers.items()},
            body=self._json_strings(message.body),
            text=self.text(message.text) if message.text is not None else None,
        )

    def _json_strings(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self.text(str(key)): self._json_strings(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._json_strings(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value
