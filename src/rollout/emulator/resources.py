"""The Azure resources the emulator serves, and Azure's rules about them. No HTTP, no state.

Endpoints, deployments (with their request settings and probes), scoring tokens and packaged
models as dataclasses; the rules a change must pass (names, traffic and mirror traffic, deployment
settings, model references), each raising the `errors` class Azure answers with.

The endpoint limits are Azure's defaults for managed online endpoints ("Manage and increase quotas
and limits for resources with Azure Machine Learning"); they are regional, and one emulator is one
region. Azure answers a change over a limit or over the VM quota with `OutOfQuota`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rollout.emulator.constants import LOCATION, SUBSCRIPTION_ID
from rollout.emulator.errors import BadArgument, OutOfQuota

PROVISIONING_STATES = ("Creating", "Updating", "Succeeded", "Failed", "Deleting")
IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned", "None")
AUTH_MODES = ("key", "aml_token")
KEY_TYPES = ("primary", "secondary")

NAME_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$")
NAME_MIN_LENGTH = 3
NAME_MAX_LENGTH = 32
MAX_ENDPOINTS_PER_SUBSCRIPTION = 100
MAX_DEPLOYMENTS_PER_SUBSCRIPTION = 500
MAX_DEPLOYMENTS_PER_ENDPOINT = 20
MAX_INSTANCE_COUNT = 50  # instances per deployment
MAX_REQUEST_TIMEOUT_MS = 180_000
MAX_MIRROR_PERCENT = 50

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
    model: str  # as given by the client: an ARM id or azureml:<name>:<version> ("" for a script without one)
    model_uri: str  # the MLflow URI it resolves to: models:/<name>/<version> ("" without a model)
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
    environment: str | None = None  # the environment id the client sent (a packaged model's or a script's)
    code_id: str | None = None  # codeConfiguration.codeId: the code version holding the scoring script
    scoring_script: str | None = None  # codeConfiguration.scoringScript, relative to that folder
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
    identity_type: str = "SystemAssigned"
    created_at: float = 0.0
    modified_at: float = 0.0


@dataclass(frozen=True)
class EndpointSettings:
    """What a PUT (or a PATCH merged onto the current endpoint) asks an endpoint to become."""

    auth_mode: str = "key"
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    mirror_traffic: dict[str, int] = field(default_factory=dict)
    identity_type: str = "SystemAssigned"


@dataclass(frozen=True)
class EndpointPatch:
    """What a PATCH changes of an endpoint: None keeps the current value (auth mode is not patchable)."""

    description: str | None = None
    tags: dict[str, str] | None = None
    traffic: dict[str, int] | None = None
    mirror_traffic: dict[str, int] | None = None
    identity_type: str | None = None

    def onto(self, current: Endpoint) -> EndpointSettings:
        """The settings `current` has with this patch applied."""
        return EndpointSettings(
            auth_mode=current.auth_mode,
            description=current.description if self.description is None else self.description,
            tags=dict(current.tags if self.tags is None else self.tags),
            traffic=dict(current.traffic if self.traffic is None else self.traffic),
            mirror_traffic=dict(
                current.mirror_traffic if self.mirror_traffic is None else self.mirror_traffic
            ),
            identity_type=current.identity_type if self.identity_type is None else self.identity_type,
        )


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


def validate_name(name: str, kind: str) -> None:
    """Azure's rule for endpoint and deployment names."""
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise BadArgument(
            f"The {kind} name '{name}' is {len(name)} characters long; "
            f"it must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters."
        )
    if not NAME_PATTERN.match(name):
        raise BadArgument(
            f"The {kind} name '{name}' is invalid: it must start with a letter, contain only letters, "
            "digits and dashes, and end with a letter or digit."
        )


def check_endpoint_limit(endpoints: int) -> None:
    """A new endpoint fits the subscription's endpoint limit (it has `endpoints` already)."""
    if endpoints >= MAX_ENDPOINTS_PER_SUBSCRIPTION:
        raise OutOfQuota(
            f"Subscription {SUBSCRIPTION_ID} already has {endpoints} online endpoints in {LOCATION}; the "
            f"limit is {MAX_ENDPOINTS_PER_SUBSCRIPTION}. Delete unused endpoints or request an endpoint "
            "limit increase."
        )


def check_deployment_limits(endpoint: str, siblings: int, deployments: int) -> None:
    """A new deployment fits the endpoint's (`siblings`) and the subscription's (`deployments`) limits."""
    if siblings >= MAX_DEPLOYMENTS_PER_ENDPOINT:
        raise OutOfQuota(
            f"Endpoint '{endpoint}' already has {siblings} deployments; the limit is "
            f"{MAX_DEPLOYMENTS_PER_ENDPOINT} per endpoint. Delete unused deployments or request an "
            "endpoint limit increase."
        )
    if deployments >= MAX_DEPLOYMENTS_PER_SUBSCRIPTION:
        raise OutOfQuota(
            f"Subscription {SUBSCRIPTION_ID} already has {deployments} online deployments in {LOCATION}; "
            f"the limit is {MAX_DEPLOYMENTS_PER_SUBSCRIPTION}. Delete unused deployments or request an "
            "endpoint limit increase."
        )


def reserved_instances(instance_count: int) -> int:
    """The instances of quota a deployment holds: 20% more for upgrades (10 need 12, 1 needs 2)."""
    return instance_count + -(-instance_count // 5)


def check_instance_quota(deployment: Deployment, in_use: int, quota: int | None) -> None:
    """The deployment's reserved instances fit the quota beside the others' `in_use` (None: no quota)."""
    needed = reserved_instances(deployment.instance_count)
    if quota is not None and in_use + needed > quota:
        raise OutOfQuota(
            f"Not enough quota available for {deployment.instance_type} in SubscriptionId {SUBSCRIPTION_ID}. "
            f"Current usage/limit: {in_use}/{quota} instances. Additional needed: {needed} "
            f"(instance_count {deployment.instance_count} and 20% reserved for upgrades). Delete unused "
            "deployments, lower instance_count or request a quota increase."
        )


def parse_model_reference(reference: str) -> tuple[str, str]:
    """Name and version of a model as an ARM id, `azureml:<name>:<version>` or `models:/<name>/<version>`."""
    if reference.startswith("azureml://registries/"):
        raise BadArgument(f"Model '{reference}' is in a registry; the emulator serves workspace models only.")
    for pattern in (_ARM_MODEL_ID, _SHORT_MODEL_ID, _MLFLOW_MODEL_URI):
        match = pattern.search(reference)
        if match:
            return match["name"], match["version"]
    raise BadArgument(
        f"Model reference '{reference}' is not of the form azureml:<name>:<version> "
        "or .../models/<name>/versions/<version>."
    )


def model_uri(name: str, version: str) -> str:
    """The MLflow registry URI of a model version."""
    return f"models:/{name}/{version}"


def validated_traffic(
    endpoint: str, traffic: dict[str, int], deployments: dict[str, Deployment]
) -> dict[str, int]:
    """The live traffic map with lower-cased names: existing deployments only, summing to 0 or 100."""
    live = {name.lower(): _percent(value, "traffic", name) for name, value in traffic.items()}
    for name in live:
        if name not in deployments:
            raise BadArgument(
                f"Traffic names deployment '{name}', which does not exist in endpoint '{endpoint}'."
            )
    total = sum(live.values())
    if total not in (0, 100):
        shares = ", ".join(f"{name}={value}" for name, value in live.items())
        raise BadArgument(
            f"The traffic of endpoint '{endpoint}' sums to {total} ({shares}); it must sum to 0 or 100."
        )
    return live


def validated_mirror(
    endpoint: str, mirror: dict[str, int], live: dict[str, int], deployments: dict[str, Deployment]
) -> dict[str, int]:
    """The mirror traffic map: existing deployments, one mirrored at most, up to 50%, none live."""
    shares = {name.lower(): _percent(value, "mirror traffic", name) for name, value in mirror.items()}
    for name in shares:
        if name not in deployments:
            raise BadArgument(
                f"Mirror traffic names deployment '{name}', which does not exist in endpoint '{endpoint}'."
            )
    mirrored = {name: value for name, value in shares.items() if value > 0}
    if len(mirrored) > 1:
        raise BadArgument(
            f"Mirror traffic of endpoint '{endpoint}' names {len(mirrored)} deployments "
            f"({', '.join(mirrored)}); at most one deployment can receive mirrored traffic."
        )
    for name, value in mirrored.items():
        if value > MAX_MIRROR_PERCENT:
            raise BadArgument(
                f"Mirror traffic to deployment '{name}' is {value}%; it can be at most {MAX_MIRROR_PERCENT}%."
            )
        if live.get(name, 0) > 0:
            raise BadArgument(
                f"Deployment '{name}' takes {live[name]}% of the live traffic; a deployment with live "
                "traffic cannot also receive mirrored traffic."
            )
    return shares


def validated_settings(
    endpoint: str, settings: EndpointSettings, deployments: dict[str, Deployment]
) -> tuple[dict[str, int], dict[str, int]]:
    """The live and mirror traffic maps of settings that keep every endpoint rule."""
    if settings.auth_mode not in AUTH_MODES:
        raise BadArgument(
            f"Auth mode '{settings.auth_mode}' is not supported; use one of {', '.join(AUTH_MODES)}."
        )
    if settings.identity_type not in IDENTITY_TYPES:
        raise BadArgument(
            f"Identity type '{settings.identity_type}' is invalid; use one of {', '.join(IDENTITY_TYPES)}."
        )
    live = validated_traffic(endpoint, settings.traffic, deployments)
    return live, validated_mirror(endpoint, settings.mirror_traffic, live, deployments)


def validate_deployment_settings(deployment: Deployment) -> None:
    """Request settings, instance count and probes within Azure's limits, and a model named (or a
    scoring script with its environment)."""
    timeout = deployment.request_settings.request_timeout_ms
    if not 0 < timeout <= MAX_REQUEST_TIMEOUT_MS:
        raise BadArgument(
            f"request_timeout_ms of deployment '{deployment.name}' is {timeout}; "
            f"it must be between 1 and {MAX_REQUEST_TIMEOUT_MS} ms."
        )
    if deployment.request_settings.max_concurrent_requests_per_instance < 1:
        raise BadArgument("max_concurrent_requests_per_instance must be at least 1.")
    if deployment.instance_count < 1:
        raise BadArgument(
            f"instance_count of deployment '{deployment.name}' is {deployment.instance_count}; "
            "it must be at least 1."
        )
    if deployment.instance_count > MAX_INSTANCE_COUNT:
        raise OutOfQuota(
            f"instance_count of deployment '{deployment.name}' is {deployment.instance_count}; the limit "
            f"is {MAX_INSTANCE_COUNT} instances per deployment. Request an endpoint limit increase."
        )
    for kind, probe in (
        ("liveness", deployment.liveness_probe),
        ("readiness", deployment.readiness_probe),
    ):
        if probe.period < 1 or probe.timeout < 1 or probe.failure_threshold < 1 or probe.initial_delay < 0:
            raise BadArgument(
                f"The {kind} probe of deployment '{deployment.name}' needs period, timeout and "
                "failure_threshold of at least 1 and a non-negative initial_delay."
            )
    if deployment.code_id is not None and not deployment.environment:
        raise BadArgument(
            f"Deployment '{deployment.name}' has a code_configuration but no environment: a scoring script "
            "runs in the environment the deployment names."
        )
    if not deployment.model_uri and deployment.code_id is None:
        raise BadArgument(f"Deployment '{deployment.name}' names no model.")


def _percent(value: object, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadArgument(f"The {what} of deployment '{name}' must be a whole percentage, not {value!r}.")
    try:
        percent = int(value)
    except ValueError:
        raise BadArgument(
            f"The {what} of deployment '{name}' must be a whole percentage, not {value!r}."
        ) from None
    if not 0 <= percent <= 100:
        raise BadArgument(f"The {what} of deployment '{name}' is {percent}%; it must be between 0 and 100.")
    return percent
