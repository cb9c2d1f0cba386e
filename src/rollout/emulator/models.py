"""State and rules of the emulated endpoints and deployments. No HTTP in here."""

from __future__ import annotations

from dataclasses import dataclass, field

PROVISIONING_STATES = ("Creating", "Updating", "Succeeded", "Failed", "Deleting")


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
