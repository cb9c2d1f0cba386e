"""The JSON shapes of the control plane's replies, as azure-ai-ml's generated client reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import isodate

from rollout.emulator.assets import AssetVersion, CodeVersion, EnvironmentVersion
from rollout.emulator.control.lro import Operation
from rollout.emulator.control.model_registry import RegisteredModel, RegisteredVersion
from rollout.emulator.control.workspace import PROVIDER, Workspace
from rollout.emulator.resources import (
    MAX_INSTANCE_COUNT,
    AmlToken,
    Deployment,
    Endpoint,
    Probe,
    model_uri,
)

AUTH_MODES_TO_REST = {"key": "Key", "aml_token": "AMLToken"}


class Shapes:
    """Resources as ARM JSON, with the ids, locations and URLs of one workspace and server."""

    def __init__(self, workspace: Workspace, base_url: str) -> None:
        self._workspace = workspace
        self.base_url = base_url.rstrip("/")

    def mlflow_tracking_uri(self) -> str:
        """azureml://<host>/mlflow/v1.0/<workspace id>, the form Azure announces (https:// implied)."""
        host = self.base_url.split("://", 1)[-1]
        return f"azureml://{host}/mlflow/v1.0{self._workspace.id}"

    def scoring_uri(self, endpoint: str) -> str:
        return f"{self.base_url}/online-endpoints/{endpoint}/score"

    def workspace(self) -> dict[str, Any]:
        return {
            "id": self._workspace.id,
            "name": self._workspace.name,
            "type": f"{PROVIDER}/workspaces",
            "location": self._workspace.location,
            "kind": "Default",
            "tags": {},
            "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {
                "type": "SystemAssigned",
                "principalId": self._workspace.workspace_id,
                "tenantId": self._workspace.workspace_id,
            },
            "properties": {
                "friendlyName": self._workspace.name,
                "description": "Local emulator of Azure ML managed online endpoints.",
                "workspaceId": self._workspace.workspace_id,
                "provisioningState": "Succeeded",
                "mlFlowTrackingUri": self.mlflow_tracking_uri(),
                "publicNetworkAccess": "Enabled",
                "hbiWorkspace": False,
                "v1LegacyMode": False,
            },
        }

    def swagger_uri(self, endpoint: str) -> str:
        return f"{self.base_url}/online-endpoints/{endpoint}/swagger.json"

    def identity(self, identity_type: str) -> dict[str, Any]:
        """A managed identity as Azure reports it (principal and tenant ids are the workspace's, stable)."""
        if identity_type == "None":
            return {"type": "None"}
        return {
            "type": identity_type,
            "principalId": self._workspace.workspace_id,
            "tenantId": self._workspace.workspace_id,
        }

    def endpoint(self, endpoint: Endpoint, *, operation_uri: str | None = None) -> dict[str, Any]:
        resource_id = f"{self._workspace.id}/onlineEndpoints/{endpoint.name}"
        inner = {
            "azureml.onlineendpointid": resource_id.lower(),
            "createdAt": iso(endpoint.created_at),
            "createdBy": "rollout-emulator",
            "lastModifiedAt": iso(endpoint.modified_at or endpoint.created_at),
        }
        if operation_uri:
            inner["AzureAsyncOperationUri"] = operation_uri
        return {
            "id": resource_id,
            "name": endpoint.name,
            "type": f"{PROVIDER}/workspaces/onlineEndpoints",
            "location": self._workspace.location,
            "kind": "Managed",
            "tags": endpoint.tags,
            "identity": self.identity(endpoint.identity_type),
            "properties": {
                "authMode": AUTH_MODES_TO_REST[endpoint.auth_mode],
                "description": endpoint.description,
                "properties": inner,
                "scoringUri": self.scoring_uri(endpoint.name),
                "swaggerUri": self.swagger_uri(endpoint.name),
                "compute": None,
                "provisioningState": endpoint.provisioning_state,
                "traffic": endpoint.traffic,
                "mirrorTraffic": endpoint.mirror_traffic,
                "publicNetworkAccess": "Enabled",
            },
            "systemData": system_data(endpoint.created_at, endpoint.modified_at),
        }

    def deployment(self, deployment: Deployment, *, operation_uri: str | None = None) -> dict[str, Any]:
        settings = deployment.request_settings
        properties: dict[str, Any] = {
            "endpointComputeType": "Managed",
            "codeConfiguration": (
                {"codeId": deployment.code_id, "scoringScript": deployment.scoring_script}
                if deployment.code_id
                else None  # MLflow models deploy without a scoring script
            ),
            "modelMountPath": None,
            "model": None if deployment.package_model else deployment.model or None,
            "environmentId": deployment.environment,
            "instanceType": deployment.instance_type,
            "description": deployment.description,
            "properties": {
                **({"modelUri": deployment.model_uri} if deployment.model_uri else {}),
                "packageModel": str(deployment.package_model).lower(),
            },
            "environmentVariables": deployment.environment_variables,
            "requestSettings": {
                "requestTimeout": duration(settings.request_timeout_ms / 1000),
                "maxConcurrentRequestsPerInstance": settings.max_concurrent_requests_per_instance,
                "maxQueueWait": duration(settings.max_queue_wait_ms / 1000),
            },
            "livenessProbe": probe_json(deployment.liveness_probe),
            "readinessProbe": probe_json(deployment.readiness_probe),
            "scaleSettings": {"scaleType": "Default"},
            "appInsightsEnabled": False,
            "egressPublicNetworkAccess": "Enabled",
            "provisioningState": deployment.provisioning_state,
        }
        if deployment.failure_reason:
            properties["properties"]["failureReason"] = deployment.failure_reason
        if operation_uri:
            properties["properties"]["AzureAsyncOperationUri"] = operation_uri
        return {
            "id": f"{self._workspace.id}/onlineEndpoints/{deployment.endpoint}/deployments/{deployment.name}",
            "name": deployment.name,
            "type": f"{PROVIDER}/workspaces/onlineEndpoints/deployments",
            "location": self._workspace.location,
            "kind": "Managed",
            "tags": deployment.tags,
            "sku": {"name": "Default", "tier": "Standard", "capacity": deployment.instance_count},
            "properties": properties,
            "systemData": system_data(deployment.created_at, deployment.modified_at),
        }

    @staticmethod
    def deployment_sku(deployment: Deployment) -> dict[str, Any]:
        """The sku a managed deployment scales with (Azure's SkuResource)."""
        return {
            "resourceType": f"{PROVIDER}/workspaces/onlineEndpoints/deployments",
            "sku": {"name": "Default", "tier": "Standard"},
            "capacity": {
                "minimum": 1,
                "maximum": MAX_INSTANCE_COUNT,
                "default": 1,
                "scaleType": "Manual",
            },
        }

    def model(self, model: RegisteredModel) -> dict[str, Any]:
        return {
            "id": f"{self._workspace.id}/models/{model.name}",
            "name": model.name,
            "type": f"{PROVIDER}/workspaces/models",
            "properties": {
                "description": model.description,
                "tags": model.tags,
                "properties": {},
                "isArchived": False,
                "latestVersion": model.latest_version,
                "nextVersion": _next_version(model.latest_version),
            },
            "systemData": system_data(model.created_ms / 1000, model.modified_ms / 1000),
        }

    def model_version(self, version: RegisteredVersion) -> dict[str, Any]:
        return {
            "id": f"{self._workspace.id}/models/{version.name}/versions/{version.version}",
            "name": version.version,
            "type": f"{PROVIDER}/workspaces/models/versions",
            "properties": {
                "description": version.description,
                "tags": version.tags,
                "properties": {
                    "mlflowModelUri": model_uri(version.name, version.version),
                    "mlflowSource": version.source,
                    **({"runId": version.run_id} if version.run_id else {}),
                },
                "isArchived": False,
                "isAnonymous": False,
                "flavors": {},
                "modelType": "mlflow_model",
                "modelUri": self.asset_uri("models", version.name, version.version),
                "jobName": version.run_id,
                "stage": "Development",
            },
            "systemData": system_data(version.created_ms / 1000, version.modified_ms / 1000),
        }

    def code_version(self, code: CodeVersion) -> dict[str, Any]:
        properties = {"codeUri": code.code_uri}
        return self._asset_version("codes", code, properties)

    def environment_version(self, environment: EnvironmentVersion) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "autoRebuild": "Disabled",
            "condaFile": environment.conda_file,
            "environmentType": "UserCreated",
            "image": environment.image,
            "osType": environment.os_type,
            "stage": "Development",
        }
        if environment.build is not None:
            properties["build"] = environment.build
        if environment.inference_config is not None:
            properties["inferenceConfig"] = environment.inference_config
        return self._asset_version("environments", environment, properties)

    def _asset_version(self, kind: str, asset: AssetVersion, properties: dict[str, Any]) -> dict[str, Any]:
        """A code or environment version: Azure's AssetBase properties and the kind's own."""
        return {
            "id": f"{self._workspace.id}/{kind}/{asset.name}/versions/{asset.version}",
            "name": asset.version,
            "type": f"{PROVIDER}/workspaces/{kind}/versions",
            "properties": {
                "description": asset.description,
                "tags": asset.tags,
                "properties": asset.properties,
                "isAnonymous": asset.is_anonymous,
                "isArchived": asset.is_archived,
                "provisioningState": "Succeeded",
                **properties,
            },
            "systemData": system_data(asset.created_at, asset.modified_at),
        }

    def asset_uri(self, kind: str, name: str, version: str) -> str:
        """Azure's location-scoped asset URI: azureml://locations/<l>/workspaces/<id>/<kind>/<name>/versions/<v>."""
        ws = self._workspace
        return (
            f"azureml://locations/{ws.location}/workspaces/{ws.workspace_id}/{kind}/{name}/versions/{version}"
        )

    @staticmethod
    def keys(endpoint: Endpoint) -> dict[str, Any]:
        return {"primaryKey": endpoint.primary_key, "secondaryKey": endpoint.secondary_key}

    @staticmethod
    def token(token: AmlToken) -> dict[str, Any]:
        return {
            "accessToken": token.access_token,
            "expiryTimeUtc": token.expiry_time_utc,
            "refreshAfterTimeUtc": token.refresh_after_time_utc,
            "tokenType": token.token_type,
        }

    @staticmethod
    def operation(operation: Operation, path: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": path,
            "name": operation.id,
            "status": operation.reported_status,
            "percentComplete": operation.percent_complete(),
            "startTime": iso(operation.start_time),
        }
        if operation.end_time is not None:
            body["endTime"] = iso(operation.end_time)
        if operation.error is not None:
            body["error"] = {"code": operation.error.code, "message": operation.error.message}
        return body


def probe_json(probe: Probe) -> dict[str, Any]:
    return {
        "initialDelay": duration(probe.initial_delay),
        "period": duration(probe.period),
        "timeout": duration(probe.timeout),
        "successThreshold": probe.success_threshold,
        "failureThreshold": probe.failure_threshold,
    }


def duration(seconds: float) -> str:
    return isodate.duration_isoformat(dt.timedelta(seconds=seconds))


def iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


def system_data(created: float, modified: float) -> dict[str, Any]:
    return {
        "createdBy": "rollout-emulator",
        "createdByType": "Application",
        "createdAt": iso(created),
        "lastModifiedBy": "rollout-emulator",
        "lastModifiedByType": "Application",
        "lastModifiedAt": iso(modified or created),
    }


def _next_version(latest: str | None) -> str | None:
    return str(int(latest) + 1) if latest and latest.isdigit() else None
