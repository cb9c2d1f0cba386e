"""azure-ai-ml entities from the deployments client's config files: the endpoint and deployment
specs the project's endpoint and deployment operations provision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollout.mlflow_plugin.config_files import (
    DEFAULT_ENDPOINT,
    DEFAULT_INSTANCE_TYPE,
    DeployConfig,
    EndpointConfig,
)

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, OnlineEndpoint


def endpoint_spec(name: str, config: EndpointConfig | None) -> ManagedOnlineEndpoint:
    """A new managed online endpoint; without a config, azureml-mlflow's default one (token
    auth, system-assigned identity)."""
    from azure.ai.ml.entities import IdentityConfiguration, ManagedOnlineEndpoint

    settings = config or EndpointConfig.from_dict(DEFAULT_ENDPOINT)
    identity = settings.identity or {}
    return ManagedOnlineEndpoint(
        name=name,
        auth_mode=settings.auth_mode or "key",
        description=settings.description,
        tags=settings.tags,
        location=settings.location,
        traffic=settings.traffic,
        mirror_traffic=settings.mirror_traffic,
        properties=settings.properties,
        identity=IdentityConfiguration(type=identity["type"]) if identity.get("type") else None,
    )


def apply_endpoint_update(endpoint: OnlineEndpoint, config: EndpointConfig) -> None:
    """What azureml-mlflow's update_endpoint changes (its PATCH): traffic, mirror traffic, tags."""
    if config.traffic is not None:
        endpoint.traffic = dict(config.traffic)
    if config.mirror_traffic is not None:
        endpoint.mirror_traffic = dict(config.mirror_traffic)
    if config.tags is not None:
        endpoint.tags = dict(config.tags)


def deployment_spec(
    name: str,
    endpoint: str,
    model: str,
    config: DeployConfig | None,
    existing: ManagedOnlineDeployment | None = None,
) -> ManagedOnlineDeployment:
    """A managed online deployment of `model` (`azureml:<name>:<version>`): the config's settings
    over those of the `existing` deployment (an update) or azure-ai-ml's defaults (a create)."""
    from azure.ai.ml.entities import ManagedOnlineDeployment

    given = config.given if config else {}
    count = config.instance_count if config else None
    spec = ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        instance_type=given.get("instance_type")
        or (existing.instance_type if existing else None)
        or DEFAULT_INSTANCE_TYPE,
        instance_count=count or (existing.instance_count if existing else None) or 1,
        description=given.get("description") or (existing.description if existing else None),
        environment_variables=given.get("environment_variables")
        or (existing.environment_variables if existing else None),
        app_insights_enabled=bool(
            given.get("app_insights_enabled") or (existing.app_insights_enabled if existing else False)
        ),
        properties=given.get("properties") or (existing.properties if existing else None),
        request_settings=_request_settings(given.get("request_settings"))
        or (existing.request_settings if existing else None),
        liveness_probe=_probe(given.get("liveness_probe")) or (existing.liveness_probe if existing else None),
        readiness_probe=_probe(given.get("readiness_probe"))
        or (existing.readiness_probe if existing else None),
        scale_settings=_scale_settings(given.get("scale_settings"))
        or (getattr(existing, "scale_settings", None) if existing else None),
    )
    return spec


def _request_settings(settings: dict[str, Any] | None) -> Any:
    from azure.ai.ml.entities import OnlineRequestSettings

    if not settings:
        return None
    keys = ("max_concurrent_requests_per_instance", "max_queue_wait_ms", "request_timeout_ms")
    return OnlineRequestSettings(**{key: settings[key] for key in keys if key in settings})


def _probe(settings: dict[str, Any] | None) -> Any:
    from azure.ai.ml.entities import ProbeSettings

    if not settings:
        return None
    keys = ("failure_threshold", "success_threshold", "timeout", "period", "initial_delay")
    return ProbeSettings(**{key: settings[key] for key in keys if key in settings})


def _scale_settings(settings: dict[str, Any] | None) -> Any:
    from azure.ai.ml.entities import DefaultScaleSettings, TargetUtilizationScaleSettings

    if not settings:
        return None
    if str(settings.get("type", "default")).lower() == "default":
        return DefaultScaleSettings()
    keys = ("min_instances", "max_instances", "polling_interval", "target_utilization_percentage")
    return TargetUtilizationScaleSettings(**{key: settings[key] for key in keys if key in settings})
