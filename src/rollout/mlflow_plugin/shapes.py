"""Endpoints and deployments as the deployments client returns them: dicts in the shape
azureml-mlflow returns (the ARM resource, camelCase, `name` at the top), built from azure-ai-ml's
entities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from rollout.azureml.sdk import state_name

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

AUTH_MODES_TO_REST = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
IDENTITY_TYPES_TO_REST = {
    "system_assigned": "SystemAssigned",
    "user_assigned": "UserAssigned",
    "system_assigned,user_assigned": "SystemAssigned,UserAssigned",
    "none": "None",
}
DEFAULT_FLAVOR = "python_function"


class EndpointDict(TypedDict):
    id: str | None
    name: str
    location: str | None
    tags: dict[str, str]
    identity: dict[str, Any] | None
    properties: dict[str, Any]


class DeploymentDict(TypedDict):
    id: str | None
    name: str
    endpointName: str | None
    tags: dict[str, str]
    properties: dict[str, Any]
    sku: dict[str, Any]
    flavor: str


def endpoint_dict(endpoint: OnlineEndpoint) -> EndpointDict:
    identity = endpoint.identity
    return EndpointDict(
        id=endpoint.id,
        name=str(endpoint.name),
        location=endpoint.location,
        tags=dict(endpoint.tags or {}),
        identity={
            "type": IDENTITY_TYPES_TO_REST.get(str(identity.type).lower(), identity.type),
            "principalId": identity.principal_id,
        }
        if identity
        else None,
        properties={
            "authMode": AUTH_MODES_TO_REST.get(str(endpoint.auth_mode).lower(), endpoint.auth_mode),
            "description": endpoint.description,
            "properties": dict(endpoint.properties or {}),
            "scoringUri": endpoint.scoring_uri,
            "swaggerUri": endpoint.openapi_uri,
            "provisioningState": state_name(endpoint.provisioning_state),
            "traffic": dict(endpoint.traffic or {}),
            "mirrorTraffic": dict(endpoint.mirror_traffic or {}),
        },
    )


def deployment_dict(deployment: OnlineDeployment) -> DeploymentDict:
    def settings(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return {
            key: item for key, item in vars(value).items() if not key.startswith("_") and item is not None
        }

    return DeploymentDict(
        id=deployment.id,
        name=str(deployment.name),
        endpointName=deployment.endpoint_name,
        tags=dict(deployment.tags or {}),
        properties={
            "description": deployment.description,
            "endpointComputeType": "Managed",
            "model": deployment.model if isinstance(deployment.model, str) else None,
            "instanceType": getattr(deployment, "instance_type", None),
            "environmentVariables": dict(deployment.environment_variables or {}),
            "appInsightsEnabled": bool(deployment.app_insights_enabled),
            "properties": dict(deployment.properties or {}),
            "requestSettings": settings(deployment.request_settings),
            "livenessProbe": settings(deployment.liveness_probe),
            "readinessProbe": settings(deployment.readiness_probe),
            "provisioningState": state_name(deployment.provisioning_state),
        },
        sku={"name": "Default", "capacity": deployment.instance_count},
        flavor=DEFAULT_FLAVOR,
    )
