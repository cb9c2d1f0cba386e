"""State and rules of the emulated endpoints and deployments. No HTTP in here.

`EmulatorState` holds endpoints and deployments and enforces Azure's rules on every change; each
violation raises `AzureError` carrying the status code and error code Azure answers with. When
given a store it writes every change through, and it restores itself from that store.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rollout.emulator.store import Store

PROVISIONING_STATES = ("Creating", "Updating", "Succeeded", "Failed", "Deleting")
AUTH_MODES = ("key", "aml_token")
KEY_TYPES = ("primary", "secondary")

NAME_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$")
NAME_MIN_LENGTH = 3
NAME_MAX_LENGTH = 32
MAX_DEPLOYMENTS_PER_ENDPOINT = 20
MAX_REQUEST_TIMEOUT_MS = 180_000
MAX_MIRROR_PERCENT = 50
DEFAULT_TOKEN_TTL_SECONDS = 3600.0
KEY_LENGTH = 32
_KEY_ALPHABET = string.ascii_letters + string.digits

_ARM_MODEL_ID = re.compile(r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
_SHORT_MODEL_ID = re.compile(r"^azureml:(?P<name>[^:/@]+):(?P<version>[^:/@]+)$")
_MLFLOW_MODEL_URI = re.compile(r"^models:/(?P<name>[^/]+)/(?P<version>[^/]+)$")


@dataclass
class RequestSettings:
    request_timeout_ms: int = 5000
    max_concurrent_requests_per_instance: int = 1
    max_queue_wait_ms: int = 500


@dataclass
class Probe:
    initial_delay: int = 10
    period: int = 10
    timeout: int = 2
    success_threshold: int = 1
    failure_threshold: int = 30


@dataclass
class Deployment:
    endpoint: str
    name: str
    model: str  # as given by the client: an ARM id or azureml:<name>:<version>
    model_uri: str  # the MLflow URI it resolves to: models:/<name>/<version>
    instance_type: str = "Standard_DS3_v2"
    instance_count: int = 1
    request_settings: RequestSettings = field(default_factory=RequestSettings)
    liveness_probe: Probe = field(default_factory=Probe)
    readiness_probe: Probe = field(default_factory=Probe)
    environment_variables: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    package_model: bool = False
    provisioning_state: str = "Creating"
    failure_reason: str | None = None
    environment: str | None = None  # the environment id sent by the client (a packaged model's)
    created_at: float = 0.0
    modified_at: float = 0.0


@dataclass
class Endpoint:
    name: str
    auth_mode: str = "key"  # "key" or "aml_token"
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    mirror_traffic: dict[str, int] = field(default_factory=dict)
    primary_key: str = ""
    secondary_key: str = ""
    provisioning_state: str = "Creating"
    created_at: float = 0.0
    modified_at: float = 0.0


@dataclass(frozen=True)
class AmlToken:
    """A scoring token of an `aml_token` endpoint (times in seconds since the epoch)."""

    access_token: str
    expiry_time_utc: int
    refresh_after_time_utc: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class ModelPackage:
    """The environment a packaged model version became (`package_model=True` deployments)."""

    environment_name: str
    environment_version: str
    model_uri: str


class AzureError(Exception):
    """A request Azure would refuse: HTTP status, Azure error code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class NotFound(AzureError):
    """The named resource does not exist (404)."""

    def __init__(self, message: str) -> None:
        super().__init__(404, "NotFound", message)


def bad_argument(message: str) -> AzureError:
    """A request whose content breaks a rule (400 BadArgument)."""
    return AzureError(400, "BadArgument", message)


def conflict(message: str) -> AzureError:
    """A request the resource's current state does not allow (409 Conflict)."""
    return AzureError(409, "Conflict", message)


def validate_name(name: str, kind: str) -> None:
    """Azure's rule for endpoint and deployment names."""
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise bad_argument(
            f"The {kind} name '{name}' is {len(name)} characters long; "
            f"it must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters."
        )
    if not NAME_PATTERN.match(name):
        raise bad_argument(
            f"The {kind} name '{name}' is invalid: it must start with a letter, contain only letters, "
            "digits and dashes, and end with a letter or digit."
        )


def parse_model_reference(reference: str) -> tuple[str, str]:
    """Name and version of a model given as an ARM id, `azureml:<name>:<version>` or `models:/<name>/<version>`."""
    if reference.startswith("azureml://registries/"):
        raise bad_argument(
            f"Model '{reference}' is in a registry; the emulator serves workspace models only."
        )
    for pattern in (_ARM_MODEL_ID, _SHORT_MODEL_ID, _MLFLOW_MODEL_URI):
        match = pattern.search(reference)
        if match:
            return match["name"], match["version"]
    raise bad_argument(
        f"Model reference '{reference}' is not of the form azureml:<name>:<version> "
        "or .../models/<name>/versions/<version>."
    )


def model_uri(name: str, version: str) -> str:
    """The MLflow registry URI of a model version."""
    return f"models:/{name}/{version}"


def _new_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EmulatorState:
    """Endpoints, deployments, keys and tokens, with Azure's rules.

    Methods are synchronous and cheap; they return snapshots (copies), which callers must not
    expect to change. Deployment names are lower-cased as Azure does; endpoint names are matched
    case-insensitively.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._token_ttl = token_ttl
        self._clock = clock
        self._endpoints: dict[str, Endpoint] = {}
        self._deployments: dict[str, dict[str, Deployment]] = {}
        self._packages: dict[tuple[str, str], ModelPackage] = {}
        if store is not None:
            for endpoint in store.load_endpoints():
                self._endpoints[endpoint.name.lower()] = endpoint
                self._deployments[endpoint.name.lower()] = {}
            for deployment in store.load_deployments():
                self._deployments.setdefault(deployment.endpoint.lower(), {})[deployment.name] = deployment
            for package in store.load_packages():
                self._packages[(package.environment_name, package.environment_version)] = package
            self._signing_key = store.secret("aml-token-signing-key")
        else:
            self._signing_key = secrets.token_hex(32)

    # Endpoints ---------------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> Endpoint:
        return copy.deepcopy(self._endpoint(name))

    def list_endpoints(self) -> list[Endpoint]:
        return [copy.deepcopy(endpoint) for endpoint in self._endpoints.values()]

    def put_endpoint(
        self,
        name: str,
        *,
        auth_mode: str = "key",
        description: str | None = None,
        tags: dict[str, str] | None = None,
        traffic: dict[str, int] | None = None,
        mirror_traffic: dict[str, int] | None = None,
    ) -> tuple[Endpoint, bool]:
        """Create an endpoint or replace its settings (a full PUT). Returns it and whether it is new."""
        validate_name(name, "endpoint")
        if auth_mode not in AUTH_MODES:
            raise bad_argument(
                f"Auth mode '{auth_mode}' is not supported; use one of {', '.join(AUTH_MODES)}."
            )
        existing = self._endpoints.get(name.lower())
        if existing is not None and existing.provisioning_state == "Deleting":
            raise conflict(f"Endpoint '{existing.name}' is being deleted.")
        deployments = self._deployments.get(name.lower(), {})
        live = self._validated_traffic(name, traffic or {}, deployments)
        mirror = self._validated_mirror(name, mirror_traffic or {}, live, deployments)
        now = self._clock()
        if existing is None:
            endpoint = Endpoint(
                name=name,
                auth_mode=auth_mode,
                description=description,
                tags=dict(tags or {}),
                traffic=live,
                mirror_traffic=mirror,
                primary_key=_new_key(),
                secondary_key=_new_key(),
                provisioning_state="Succeeded",
                created_at=now,
                modified_at=now,
            )
            self._endpoints[name.lower()] = endpoint
            self._deployments.setdefault(name.lower(), {})
        else:
            endpoint = existing
            endpoint.auth_mode = auth_mode
            endpoint.description = description
            endpoint.tags = dict(tags or {})
            endpoint.traffic = live
            endpoint.mirror_traffic = mirror
            endpoint.provisioning_state = "Succeeded"
            endpoint.modified_at = now
        self._save_endpoint(endpoint)
        return copy.deepcopy(endpoint), existing is None

    def begin_delete_endpoint(self, name: str) -> Endpoint:
        """Mark an endpoint and all its deployments Deleting (Azure deletes them together)."""
        endpoint = self._endpoint(name)
        endpoint.provisioning_state = "Deleting"
        self._save_endpoint(endpoint)
        for deployment in self._deployments.get(name.lower(), {}).values():
            deployment.provisioning_state = "Deleting"
            self._save_deployment(deployment)
        return copy.deepcopy(endpoint)

    def remove_endpoint(self, name: str) -> None:
        """Forget an endpoint and its deployments (the end of a delete)."""
        endpoint = self._endpoints.pop(name.lower(), None)
        self._deployments.pop(name.lower(), None)
        if endpoint is not None and self._store is not None:
            self._store.delete_endpoint(endpoint.name)

    # Keys and tokens ---------------------------------------------------------------------------

    def regenerate_key(self, endpoint_name: str, key_type: str, key_value: str | None = None) -> Endpoint:
        """Replace the primary or secondary key; the old one stops working at once.

        A `key_value` different from the current key becomes the new key (Azure's `keyValue`);
        otherwise a new random key is generated.
        """
        endpoint = self._endpoint(endpoint_name)
        kind = key_type.lower()
        if kind not in KEY_TYPES:
            raise bad_argument(f"Key type '{key_type}' is invalid; use Primary or Secondary.")
        if endpoint.auth_mode != "key":
            raise bad_argument(f"Endpoint '{endpoint.name}' uses {endpoint.auth_mode} auth, not keys.")
        current = endpoint.primary_key if kind == "primary" else endpoint.secondary_key
        if key_value and key_value != current:
            if len(key_value) < 16 or not set(key_value) <= set(_KEY_ALPHABET):
                raise bad_argument("A key value must be at least 16 letters and digits.")
            new = key_value
        else:
            new = _new_key()
        if kind == "primary":
            endpoint.primary_key = new
        else:
            endpoint.secondary_key = new
        endpoint.modified_at = self._clock()
        self._save_endpoint(endpoint)
        return copy.deepcopy(endpoint)

    def issue_token(self, endpoint_name: str) -> AmlToken:
        """A signed scoring token for an `aml_token` endpoint, valid for the token lifetime."""
        endpoint = self._endpoint(endpoint_name)
        if endpoint.auth_mode != "aml_token":
            raise bad_argument(
                f"Endpoint '{endpoint.name}' uses {endpoint.auth_mode} auth; tokens are for aml_token."
            )
        now = self._clock()
        expiry = int(now + self._token_ttl)
        claims = {"endpoint": endpoint.name.lower(), "created": endpoint.created_at, "exp": expiry}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        token = f"{payload}.{self._sign(payload)}"
        return AmlToken(token, expiry, int(now + self._token_ttl / 2))

    def check_credential(self, endpoint_name: str, token: str) -> bool:
        """Whether `token` may score on the endpoint: a current key, or a valid unexpired aml token."""
        endpoint = self._endpoints.get(endpoint_name.lower())
        if endpoint is None or not token:
            return False
        if endpoint.auth_mode == "key":
            given = token.encode()
            primary = hmac.compare_digest(given, endpoint.primary_key.encode())
            secondary = hmac.compare_digest(given, endpoint.secondary_key.encode())
            return primary or secondary
        return self._token_valid(endpoint, token)

    def _token_valid(self, endpoint: Endpoint, token: str) -> bool:
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

    # Deployments -------------------------------------------------------------------------------

    def get_deployment(self, endpoint: str, name: str) -> Deployment:
        return copy.deepcopy(self._deployment(endpoint, name))

    def list_deployments(self, endpoint: str) -> list[Deployment]:
        self._endpoint(endpoint)
        return [copy.deepcopy(d) for d in self._deployments.get(endpoint.lower(), {}).values()]

    def put_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]:
        """Create or update a deployment, provisioning state Creating or Updating. Returns it and whether it is new.

        The caller starts its instances and later reports the outcome with `set_deployment_state`.
        """
        endpoint = self._endpoint(deployment.endpoint)
        name = deployment.name.lower()
        validate_name(name, "deployment")
        if endpoint.provisioning_state == "Deleting":
            raise conflict(f"Endpoint '{endpoint.name}' is being deleted.")
        siblings = self._deployments.setdefault(endpoint.name.lower(), {})
        existing = siblings.get(name)
        if existing is None and len(siblings) >= MAX_DEPLOYMENTS_PER_ENDPOINT:
            raise bad_argument(
                f"Endpoint '{endpoint.name}' already has {len(siblings)} deployments, "
                f"the maximum is {MAX_DEPLOYMENTS_PER_ENDPOINT}. Delete one first."
            )
        self._validate_deployment_settings(deployment)
        if existing is not None:
            if existing.provisioning_state == "Deleting":
                raise conflict(f"Deployment '{name}' of endpoint '{endpoint.name}' is being deleted.")
            if existing.instance_type.lower() != deployment.instance_type.lower():
                raise bad_argument(
                    f"The instance_type of deployment '{name}' cannot change from {existing.instance_type} "
                    f"to {deployment.instance_type}. Create a new deployment with the new instance type."
                )
        stored = copy.deepcopy(deployment)
        stored.endpoint = endpoint.name
        stored.name = name
        stored.failure_reason = None
        now = self._clock()
        stored.created_at = existing.created_at if existing is not None else now
        stored.modified_at = now
        stored.provisioning_state = "Creating" if existing is None else "Updating"
        siblings[name] = stored
        self._save_deployment(stored)
        return copy.deepcopy(stored), existing is None

    def set_deployment_state(
        self, endpoint: str, name: str, provisioning_state: str, failure_reason: str | None = None
    ) -> Deployment:
        """Record the outcome of provisioning (Succeeded, or Failed with the reason)."""
        if provisioning_state not in PROVISIONING_STATES:
            raise ValueError(f"unknown provisioning state {provisioning_state!r}")
        deployment = self._deployment(endpoint, name)
        deployment.provisioning_state = provisioning_state
        deployment.failure_reason = failure_reason
        self._save_deployment(deployment)
        return copy.deepcopy(deployment)

    def begin_delete_deployment(self, endpoint: str, name: str) -> Deployment:
        """Mark a deployment Deleting, unless it still takes live or mirrored traffic."""
        owner = self._endpoint(endpoint)
        deployment = self._deployment(endpoint, name)
        if owner.traffic.get(deployment.name, 0) > 0:
            raise conflict(
                f"Deployment '{deployment.name}' still takes {owner.traffic[deployment.name]}% of the live "
                f"traffic of endpoint '{owner.name}'. Set its traffic to 0 before deleting it."
            )
        if owner.mirror_traffic.get(deployment.name, 0) > 0:
            raise conflict(
                f"Deployment '{deployment.name}' still receives {owner.mirror_traffic[deployment.name]}% "
                f"mirrored traffic of endpoint '{owner.name}'. Set its mirror traffic to 0 before deleting it."
            )
        deployment.provisioning_state = "Deleting"
        self._save_deployment(deployment)
        return copy.deepcopy(deployment)

    def remove_deployment(self, endpoint: str, name: str) -> None:
        """Forget a deployment (the end of a delete) and its zero entries in the traffic maps."""
        owner = self._endpoints.get(endpoint.lower())
        siblings = self._deployments.get(endpoint.lower(), {})
        removed = siblings.pop(name.lower(), None)
        if owner is not None:
            owner.traffic.pop(name.lower(), None)
            owner.mirror_traffic.pop(name.lower(), None)
            self._save_endpoint(owner)
        if removed is not None and self._store is not None:
            self._store.delete_deployment(removed.endpoint, removed.name)

    # Packaged models ---------------------------------------------------------------------------

    def package_model(self, name: str, version: str) -> ModelPackage:
        """Record that a model version was packaged into an environment (`package_model=True`)."""
        uri = model_uri(name, version)
        for package in self._packages.values():
            if package.model_uri == uri:
                return package
        environment_version = str(len(self._packages) + 1)
        package = ModelPackage("packaged-env", environment_version, uri)
        self._packages[(package.environment_name, environment_version)] = package
        if self._store is not None:
            self._store.save_package(package)
        return package

    def packaged_model(self, environment_name: str, environment_version: str) -> ModelPackage | None:
        """The package an environment id names, if it is one."""
        return self._packages.get((environment_name, environment_version))

    # Rules -------------------------------------------------------------------------------------

    @staticmethod
    def _validated_traffic(
        endpoint: str, traffic: dict[str, int], deployments: dict[str, Deployment]
    ) -> dict[str, int]:
        live = {name.lower(): _percent(value, "traffic", name) for name, value in traffic.items()}
        for name in live:
            if name not in deployments:
                raise bad_argument(
                    f"Traffic names deployment '{name}', which does not exist in endpoint '{endpoint}'."
                )
        total = sum(live.values())
        if total not in (0, 100):
            shares = ", ".join(f"{name}={value}" for name, value in live.items())
            raise bad_argument(
                f"The traffic of endpoint '{endpoint}' sums to {total} ({shares}); it must sum to 0 or 100."
            )
        return live

    @staticmethod
    def _validated_mirror(
        endpoint: str, mirror: dict[str, int], live: dict[str, int], deployments: dict[str, Deployment]
    ) -> dict[str, int]:
        shares = {name.lower(): _percent(value, "mirror traffic", name) for name, value in mirror.items()}
        for name in shares:
            if name not in deployments:
                raise bad_argument(
                    f"Mirror traffic names deployment '{name}', which does not exist in endpoint '{endpoint}'."
                )
        mirrored = {name: value for name, value in shares.items() if value > 0}
        if len(mirrored) > 1:
            raise bad_argument(
                f"Mirror traffic of endpoint '{endpoint}' names {len(mirrored)} deployments "
                f"({', '.join(mirrored)}); at most one deployment can receive mirrored traffic."
            )
        for name, value in mirrored.items():
            if value > MAX_MIRROR_PERCENT:
                raise bad_argument(
                    f"Mirror traffic to deployment '{name}' is {value}%; it can be at most {MAX_MIRROR_PERCENT}%."
                )
            if live.get(name, 0) > 0:
                raise bad_argument(
                    f"Deployment '{name}' takes {live[name]}% of the live traffic; a deployment with live "
                    "traffic cannot also receive mirrored traffic."
                )
        return shares

    @staticmethod
    def _validate_deployment_settings(deployment: Deployment) -> None:
        timeout = deployment.request_settings.request_timeout_ms
        if not 0 < timeout <= MAX_REQUEST_TIMEOUT_MS:
            raise bad_argument(
                f"request_timeout_ms of deployment '{deployment.name}' is {timeout}; "
                f"it must be between 1 and {MAX_REQUEST_TIMEOUT_MS} ms."
            )
        if deployment.request_settings.max_concurrent_requests_per_instance < 1:
            raise bad_argument("max_concurrent_requests_per_instance must be at least 1.")
        if deployment.instance_count < 1:
            raise bad_argument(
                f"instance_count of deployment '{deployment.name}' is {deployment.instance_count}; "
                "it must be at least 1."
            )
        for kind, probe in (
            ("liveness", deployment.liveness_probe),
            ("readiness", deployment.readiness_probe),
        ):
            if (
                probe.period < 1
                or probe.timeout < 1
                or probe.failure_threshold < 1
                or probe.initial_delay < 0
            ):
                raise bad_argument(
                    f"The {kind} probe of deployment '{deployment.name}' needs period, timeout and "
                    "failure_threshold of at least 1 and a non-negative initial_delay."
                )
        if not deployment.model_uri:
            raise bad_argument(f"Deployment '{deployment.name}' names no model.")

    # Internals ---------------------------------------------------------------------------------

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self._endpoints.get(name.lower())
        if endpoint is None:
            raise NotFound(f"Online endpoint '{name}' does not exist in this workspace.")
        return endpoint

    def _deployment(self, endpoint: str, name: str) -> Deployment:
        owner = self._endpoint(endpoint)
        deployment = self._deployments.get(endpoint.lower(), {}).get(name.lower())
        if deployment is None:
            raise NotFound(f"Deployment '{name}' does not exist in online endpoint '{owner.name}'.")
        return deployment

    def _save_endpoint(self, endpoint: Endpoint) -> None:
        if self._store is not None:
            self._store.save_endpoint(endpoint)

    def _save_deployment(self, deployment: Deployment) -> None:
        if self._store is not None:
            self._store.save_deployment(deployment)


def _percent(value: object, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_argument(f"The {what} of deployment '{name}' must be a whole percentage, not {value!r}.")
    try:
        percent = int(value)
    except ValueError:
        raise bad_argument(
            f"The {what} of deployment '{name}' must be a whole percentage, not {value!r}."
        ) from None
    if not 0 <= percent <= 100:
        raise bad_argument(f"The {what} of deployment '{name}' is {percent}%; it must be between 0 and 100.")
    return percent
