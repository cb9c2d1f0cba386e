"""The Azure Resource Manager REST API subset that azure-ai-ml sends for online endpoints.

Routes, request parsing, response shapes and long-running operations, as the SDK's generated
client sends and expects them. Rules live in `models`; background work in `provisioning`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import isodate
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rollout.emulator.lro import FAILED, Operation, Operations
from rollout.emulator.models import (
    AzureError,
    Deployment,
    EmulatorState,
    Endpoint,
    NotFound,
    Probe,
    RequestSettings,
    bad_argument,
    model_uri,
    parse_model_reference,
)
from rollout.emulator.provisioning import Provisioner
from rollout.emulator.registry import ModelRegistry, RegisteredModel, RegisteredVersion

log = logging.getLogger("rollout.emulator")

PROVIDER = "Microsoft.MachineLearningServices"
WORKSPACE_PATH = (
    "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
    + PROVIDER
    + ("/workspaces/{workspace}")
)
OPERATIONS_PATH = "/subscriptions/{subscription}/providers/" + PROVIDER + "/locations/{location}"
AUTH_MODES_TO_REST = {"key": "Key", "aml_token": "AMLToken"}
AUTH_MODES_FROM_REST = {"key": "key", "amltoken": "aml_token"}
LOG_CONTAINERS = {"storageinitializer": "storage-initializer", "inferenceserver": "inference-server"}
OPERATION_API_VERSION = "2023-04-01-preview"


@dataclass(frozen=True)
class Workspace:
    """The one workspace the emulator serves."""

    subscription: str
    resource_group: str
    name: str
    location: str
    workspace_id: str
    registry_uri: str

    @property
    def id(self) -> str:
        return WORKSPACE_PATH.format(
            subscription=self.subscription, resource_group=self.resource_group, workspace=self.name
        )


class ArmApi:
    """Handlers of the ARM routes, bound to one emulator's state."""

    def __init__(
        self,
        *,
        state: EmulatorState,
        provisioner: Provisioner,
        registry: ModelRegistry,
        operations: Operations,
        workspace: Workspace,
        base_url: str,
        management_token: str,
        poll_interval_ms: int = 200,
    ) -> None:
        self.state = state
        self.provisioner = provisioner
        self.registry = registry
        self.operations = operations
        self.workspace = workspace
        self.base_url = base_url.rstrip("/")
        self._management_token = management_token
        self._poll_interval_ms = poll_interval_ms

    def routes(self) -> list[Route]:
        ws = WORKSPACE_PATH
        ep = ws + "/onlineEndpoints/{endpoint}"
        dep = ep + "/deployments/{deployment}"
        model = ws + "/models/{model}"
        ops = OPERATIONS_PATH
        table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
            (ws, self.get_workspace, ["GET"]),
            (ws + "/onlineEndpoints", self.list_endpoints, ["GET"]),
            (ep, self.get_endpoint, ["GET"]),
            (ep, self.put_endpoint, ["PUT"]),
            (ep, self.delete_endpoint, ["DELETE"]),
            (ep + "/listKeys", self.list_keys, ["POST"]),
            (ep + "/regenerateKeys", self.regenerate_keys, ["POST"]),
            (ep + "/token", self.get_token, ["POST"]),
            (ep + "/deployments", self.list_deployments, ["GET"]),
            (dep, self.get_deployment, ["GET"]),
            (dep, self.put_deployment, ["PUT"]),
            (dep, self.delete_deployment, ["DELETE"]),
            (dep + "/getLogs", self.get_logs, ["POST"]),
            (ws + "/models", self.list_models, ["GET"]),
            (model, self.get_model, ["GET"]),
            (model + "/versions", self.list_model_versions, ["GET"]),
            (model + "/versions/{version}", self.get_model_version, ["GET"]),
            (model + "/versions/{version}/package", self.package_model, ["POST"]),
            (ops + "/mfeOperationsStatus/{operation}", self.operation_status, ["GET"]),
            (ops + "/mfeOperationResults/{operation}", self.operation_result, ["GET"]),
        ]
        return [
            Route(
                path,
                self._guarded(handler),
                methods=methods,
                name=f"arm.{handler.__name__}.{methods[0].lower()}",
            )
            for path, handler, methods in table
        ]

    # Workspace ---------------------------------------------------------------------------------

    async def get_workspace(self, request: Request) -> Response:
        """Get the workspace (its location, id and MLflow tracking URI)."""
        ws = self.workspace
        return JSONResponse(
            {
                "id": ws.id,
                "name": ws.name,
                "type": f"{PROVIDER}/workspaces",
                "location": ws.location,
                "kind": "Default",
                "tags": {},
                "sku": {"name": "Basic", "tier": "Basic"},
                "identity": {
                    "type": "SystemAssigned",
                    "principalId": ws.workspace_id,
                    "tenantId": ws.workspace_id,
                },
                "properties": {
                    "friendlyName": ws.name,
                    "description": "Local emulator of Azure ML managed online endpoints.",
                    "workspaceId": ws.workspace_id,
                    "provisioningState": "Succeeded",
                    "mlFlowTrackingUri": ws.registry_uri,
                    "publicNetworkAccess": "Enabled",
                    "hbiWorkspace": False,
                    "v1LegacyMode": False,
                },
            }
        )

    # Endpoints ---------------------------------------------------------------------------------

    async def list_endpoints(self, request: Request) -> Response:
        """List the online endpoints of the workspace."""
        return JSONResponse({"value": [self._endpoint_json(e) for e in self.state.list_endpoints()]})

    async def get_endpoint(self, request: Request) -> Response:
        """Get an online endpoint."""
        return JSONResponse(self._endpoint_json(self.state.get_endpoint(request.path_params["endpoint"])))

    async def put_endpoint(self, request: Request) -> Response:
        """Create or replace an online endpoint (a full PUT: traffic, mirror traffic, tags, description, auth mode)."""
        name = request.path_params["endpoint"]
        body = await _json_body(request)
        properties = _object(body.get("properties"), "properties")
        if properties.get("compute"):
            raise bad_argument(
                "Kubernetes online endpoints (compute) are not emulated; use a managed endpoint."
            )
        rest_auth = str(properties.get("authMode") or "Key")
        auth_mode = AUTH_MODES_FROM_REST.get(rest_auth.lower())
        if auth_mode is None:
            raise bad_argument(
                f"Auth mode '{rest_auth}' is not supported by the emulator; use Key or AMLToken."
            )
        endpoint, created = self.state.put_endpoint(
            name,
            auth_mode=auth_mode,
            description=properties.get("description"),
            tags=_string_map(body.get("tags"), "tags"),
            traffic=_object(properties.get("traffic"), "traffic"),
            mirror_traffic=_object(properties.get("mirrorTraffic"), "mirrorTraffic"),
        )
        operation = self.operations.start()
        self.operations.succeed(operation)  # nothing to provision for the endpoint itself
        log.info("endpoint %s %s", endpoint.name, "created" if created else "updated")
        return JSONResponse(
            self._endpoint_json(endpoint),
            status_code=201 if created else 200,
            headers=self._lro_headers(request, operation, location=False),
        )

    async def delete_endpoint(self, request: Request) -> Response:
        """Delete an online endpoint and its deployments (long-running)."""
        endpoint = self.state.begin_delete_endpoint(request.path_params["endpoint"])
        operation = self.operations.start()
        self.provisioner.delete_endpoint(endpoint.name, operation)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def list_keys(self, request: Request) -> Response:
        """Get the primary and secondary keys of a key-auth endpoint."""
        endpoint = self.state.get_endpoint(request.path_params["endpoint"])
        if endpoint.auth_mode != "key":
            raise bad_argument(f"Endpoint '{endpoint.name}' uses {endpoint.auth_mode} auth; it has no keys.")
        return JSONResponse({"primaryKey": endpoint.primary_key, "secondaryKey": endpoint.secondary_key})

    async def regenerate_keys(self, request: Request) -> Response:
        """Regenerate the primary or secondary key; the old key stops working at once (long-running)."""
        body = await _json_body(request)
        key_type = str(body.get("keyType") or "")
        self.state.regenerate_key(request.path_params["endpoint"], key_type, body.get("keyValue"))
        operation = self.operations.start()
        self.operations.succeed(operation)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def get_token(self, request: Request) -> Response:
        """Issue a scoring token for an aml_token-auth endpoint."""
        token = self.state.issue_token(request.path_params["endpoint"])
        return JSONResponse(
            {
                "accessToken": token.access_token,
                "expiryTimeUtc": token.expiry_time_utc,
                "refreshAfterTimeUtc": token.refresh_after_time_utc,
                "tokenType": token.token_type,
            }
        )

    # Deployments -------------------------------------------------------------------------------

    async def list_deployments(self, request: Request) -> Response:
        """List the deployments of an online endpoint."""
        deployments = self.state.list_deployments(request.path_params["endpoint"])
        return JSONResponse({"value": [self._deployment_json(d) for d in deployments]})

    async def get_deployment(self, request: Request) -> Response:
        """Get a deployment, with its provisioning state."""
        params = request.path_params
        return JSONResponse(
            self._deployment_json(self.state.get_deployment(params["endpoint"], params["deployment"]))
        )

    async def put_deployment(self, request: Request) -> Response:
        """Create or update a deployment (long-running: Creating/Updating until its instances are ready)."""
        params = request.path_params
        body = await _json_body(request)
        deployment = self._deployment_from_body(params["endpoint"], params["deployment"], body)
        stored, created = self.state.put_deployment(deployment)
        operation = self.operations.start()
        self.provisioner.deploy(stored, operation)
        log.info(
            "deployment %s/%s %s (%s)",
            stored.endpoint,
            stored.name,
            stored.provisioning_state,
            stored.model_uri,
        )
        return JSONResponse(
            self._deployment_json(stored),
            status_code=201 if created else 200,
            headers=self._lro_headers(request, operation, location=False),
        )

    async def delete_deployment(self, request: Request) -> Response:
        """Delete a deployment that takes no live or mirrored traffic (long-running)."""
        params = request.path_params
        deployment = self.state.begin_delete_deployment(params["endpoint"], params["deployment"])
        operation = self.operations.start()
        self.provisioner.delete_deployment(deployment.endpoint, deployment.name, operation)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def get_logs(self, request: Request) -> Response:
        """Get the recent log of a deployment's inference server or storage initializer."""
        params = request.path_params
        deployment = self.state.get_deployment(params["endpoint"], params["deployment"])
        body = await _json_body(request)
        container = body.get("containerType")
        container_type = LOG_CONTAINERS.get(str(container).lower()) if container else None
        if container and container_type is None:
            raise bad_argument(
                f"Container type '{container}' is invalid; use InferenceServer or StorageInitializer."
            )
        tail = body.get("tail")
        lines = _int(tail, "tail") if tail is not None else None
        pool = self.provisioner.pool
        content = await asyncio.to_thread(
            pool.logs, deployment.endpoint, deployment.name, lines, container_type
        )
        return JSONResponse({"content": content})

    # Models (from the MLflow registry) ---------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        """List the registered models (from the MLflow registry)."""
        models = await asyncio.to_thread(self.registry.list_models)
        return JSONResponse({"value": [self._model_json(m) for m in models]})

    async def get_model(self, request: Request) -> Response:
        """Get a registered model and its latest version."""
        name = request.path_params["model"]
        model = await asyncio.to_thread(self.registry.get_model, name)
        if model is None:
            raise NotFound(f"Model '{name}' does not exist in the registry {self.registry.registry_uri}.")
        return JSONResponse(self._model_json(model))

    async def list_model_versions(self, request: Request) -> Response:
        """List the versions of a registered model, newest first."""
        name = request.path_params["model"]
        versions = await asyncio.to_thread(self.registry.list_versions, name)
        if versions is None:
            raise NotFound(f"Model '{name}' does not exist in the registry {self.registry.registry_uri}.")
        order = request.query_params.get("$orderBy", "")
        if "asc" in order.lower():
            versions = list(reversed(versions))
        top = request.query_params.get("$top")
        if top and top.isdigit():
            versions = versions[: int(top)]
        return JSONResponse({"value": [self._model_version_json(v) for v in versions]})

    async def get_model_version(self, request: Request) -> Response:
        """Get a model version; azureml:<name>:<version> is models:/<name>/<version>."""
        version = await self._registered_version(request)
        return JSONResponse(self._model_version_json(version))

    async def package_model(self, request: Request) -> Response:
        """Package a model version (`package_model=True`): recorded, answered as the environment it became."""
        version = await self._registered_version(request)
        await _json_body(request)
        package = self.state.package_model(version.name, version.version)
        operation = self.operations.start()
        self.operations.succeed(operation)
        environment_id = f"{self.workspace.id}/environments/{package.environment_name}/versions/{package.environment_version}"
        body = {
            "id": environment_id,
            "targetEnvironmentId": environment_id,
            "modelUri": package.model_uri,
            "buildState": "Succeeded",
        }
        return JSONResponse(
            body, status_code=202, headers=self._lro_headers(request, operation, location=True)
        )

    async def _registered_version(self, request: Request) -> RegisteredVersion:
        name, version = request.path_params["model"], request.path_params["version"]
        found = await asyncio.to_thread(self.registry.get_version, name, version)
        if found is None:
            raise NotFound(
                f"Model version {name}:{version} does not exist in the registry {self.registry.registry_uri}."
            )
        return found

    # Long-running operations -------------------------------------------------------------------

    async def operation_status(self, request: Request) -> Response:
        """Get the status of a long-running operation (Azure-AsyncOperation)."""
        operation = self._operation(request)
        body: dict[str, Any] = {
            "id": request.url.path,
            "name": operation.id,
            "status": operation.status,
            "startTime": _iso(operation.start_time),
        }
        if operation.end_time is not None:
            body["endTime"] = _iso(operation.end_time)
        if operation.error is not None:
            body["error"] = {"code": operation.error.code, "message": operation.error.message}
        headers = {} if operation.done else self._retry_headers()
        return JSONResponse(body, headers=headers)

    async def operation_result(self, request: Request) -> Response:
        """Get the result of a long-running operation (Location): 202 while running."""
        operation = self._operation(request)
        if not operation.done:
            headers = {"Location": str(request.url), **self._retry_headers()}
            return Response(status_code=202, headers=headers)
        if operation.status == FAILED and operation.error is not None:
            raise AzureError(operation.error.status, operation.error.code, operation.error.message)
        return Response(status_code=204)

    def _operation(self, request: Request) -> Operation:
        params = request.path_params
        if params["subscription"] != self.workspace.subscription:
            raise NotFound(f"Subscription '{params['subscription']}' does not exist in the emulator.")
        operation = self.operations.get(params["operation"])
        if operation is None:
            raise NotFound(
                f"Operation '{params['operation']}' does not exist (operations do not survive a restart)."
            )
        return operation

    def _lro_headers(self, request: Request, operation: Operation, *, location: bool) -> dict[str, str]:
        api_version = request.query_params.get("api-version", OPERATION_API_VERSION)
        base = self.base_url + OPERATIONS_PATH.format(
            subscription=self.workspace.subscription, location=self.workspace.location
        )
        headers = {
            "Azure-AsyncOperation": f"{base}/mfeOperationsStatus/{operation.id}?api-version={api_version}",
            "x-ms-async-operation-timeout": "PT1H",
            **self._retry_headers(),
        }
        if location:
            headers["Location"] = f"{base}/mfeOperationResults/{operation.id}?api-version={api_version}"
        return headers

    def _retry_headers(self) -> dict[str, str]:
        # azure-core honours retry-after-ms, so clients poll at the emulator's pace rather than every 5 s.
        return {"Retry-After-ms": str(self._poll_interval_ms)}

    # JSON shapes -------------------------------------------------------------------------------

    def scoring_uri(self, endpoint: str) -> str:
        return f"{self.base_url}/online-endpoints/{endpoint}/score"

    def _endpoint_json(self, endpoint: Endpoint) -> dict[str, Any]:
        return {
            "id": f"{self.workspace.id}/onlineEndpoints/{endpoint.name}",
            "name": endpoint.name,
            "type": f"{PROVIDER}/workspaces/onlineEndpoints",
            "location": self.workspace.location,
            "kind": "Managed",
            "tags": endpoint.tags,
            "identity": {"type": "SystemAssigned", "principalId": self.workspace.workspace_id},
            "properties": {
                "authMode": AUTH_MODES_TO_REST[endpoint.auth_mode],
                "description": endpoint.description,
                "properties": {},
                "scoringUri": self.scoring_uri(endpoint.name),
                "provisioningState": endpoint.provisioning_state,
                "traffic": endpoint.traffic,
                "mirrorTraffic": endpoint.mirror_traffic,
                "publicNetworkAccess": "Enabled",
            },
            "systemData": _system_data(endpoint.created_at, endpoint.modified_at),
        }

    def _deployment_json(self, deployment: Deployment) -> dict[str, Any]:
        settings = deployment.request_settings
        properties: dict[str, Any] = {
            "endpointComputeType": "Managed",
            "model": None if deployment.package_model else deployment.model,
            "environmentId": deployment.environment,
            "instanceType": deployment.instance_type,
            "description": deployment.description,
            "properties": {
                "modelUri": deployment.model_uri,
                "packageModel": str(deployment.package_model).lower(),
            },
            "environmentVariables": deployment.environment_variables,
            "requestSettings": {
                "requestTimeout": _duration(settings.request_timeout_ms / 1000),
                "maxConcurrentRequestsPerInstance": settings.max_concurrent_requests_per_instance,
                "maxQueueWait": _duration(settings.max_queue_wait_ms / 1000),
            },
            "livenessProbe": _probe_json(deployment.liveness_probe),
            "readinessProbe": _probe_json(deployment.readiness_probe),
            "scaleSettings": {"scaleType": "Default"},
            "appInsightsEnabled": False,
            "egressPublicNetworkAccess": "Enabled",
            "provisioningState": deployment.provisioning_state,
        }
        if deployment.failure_reason:
            properties["properties"]["failureReason"] = deployment.failure_reason
        return {
            "id": f"{self.workspace.id}/onlineEndpoints/{deployment.endpoint}/deployments/{deployment.name}",
            "name": deployment.name,
            "type": f"{PROVIDER}/workspaces/onlineEndpoints/deployments",
            "location": self.workspace.location,
            "kind": "Managed",
            "tags": deployment.tags,
            "sku": {"name": "Default", "tier": "Standard", "capacity": deployment.instance_count},
            "properties": properties,
            "systemData": _system_data(deployment.created_at, deployment.modified_at),
        }

    def _deployment_from_body(self, endpoint: str, name: str, body: dict[str, Any]) -> Deployment:
        properties = _object(body.get("properties"), "properties")
        compute_type = str(properties.get("endpointComputeType") or "Managed")
        if compute_type.lower() != "managed":
            raise bad_argument(
                f"Endpoint compute type '{compute_type}' is not emulated; use a managed deployment."
            )
        if properties.get("codeConfiguration"):
            raise bad_argument(
                "Scoring scripts (code_configuration) are not supported by the emulator: it serves MLflow "
                "models without a scoring script."
            )
        instance_type = properties.get("instanceType")
        if not instance_type:
            raise bad_argument(f"Deployment '{name}' has no instance_type.")
        sku = _object(body.get("sku"), "sku")
        reference, environment, packaged = self._model_of(properties)
        model_name, model_version = parse_model_reference(reference)
        return Deployment(
            endpoint=endpoint,
            name=name,
            model=reference,
            model_uri=model_uri(model_name, model_version),
            instance_type=str(instance_type),
            instance_count=_int(sku.get("capacity", 1), "sku.capacity"),
            request_settings=_request_settings(properties.get("requestSettings")),
            liveness_probe=_probe(properties.get("livenessProbe"), "livenessProbe"),
            readiness_probe=_probe(properties.get("readinessProbe"), "readinessProbe"),
            environment_variables=_string_map(properties.get("environmentVariables"), "environmentVariables"),
            tags=_string_map(body.get("tags"), "tags"),
            description=properties.get("description"),
            package_model=packaged,
            environment=environment,
        )

    def _model_of(self, properties: dict[str, Any]) -> tuple[str, str | None, bool]:
        """The deployment's model reference, its environment id and whether the model was packaged."""
        environment = properties.get("environmentId")
        reference = properties.get("model")
        if reference:
            return str(reference), environment, False
        if environment:
            parts = str(environment).rstrip("/").split("/")
            if len(parts) >= 4 and parts[-2] == "versions" and parts[-4] == "environments":
                package = self.state.packaged_model(parts[-3], parts[-1])
                if package is not None:
                    return package.model_uri, str(environment), True
        raise bad_argument("The deployment names no model: set model to azureml:<name>:<version>.")

    def _model_json(self, model: RegisteredModel) -> dict[str, Any]:
        return {
            "id": f"{self.workspace.id}/models/{model.name}",
            "name": model.name,
            "type": f"{PROVIDER}/workspaces/models",
            "properties": {
                "description": model.description,
                "tags": model.tags,
                "properties": {},
                "isArchived": False,
                "latestVersion": model.latest_version,
                "nextVersion": str(int(model.latest_version) + 1)
                if (model.latest_version or "").isdigit()
                else None,
            },
            "systemData": _system_data(model.created_ms / 1000, model.modified_ms / 1000),
        }

    def _model_version_json(self, version: RegisteredVersion) -> dict[str, Any]:
        return {
            "id": f"{self.workspace.id}/models/{version.name}/versions/{version.version}",
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
                "modelUri": self._asset_uri("models", version.name, version.version),
                "jobName": version.run_id,
                "stage": "Development",
            },
            "systemData": _system_data(version.created_ms / 1000, version.modified_ms / 1000),
        }

    def _asset_uri(self, kind: str, name: str, version: str) -> str:
        """Azure's location-scoped asset URI: azureml://locations/<l>/workspaces/<id>/<kind>/<name>/versions/<v>."""
        ws = self.workspace
        return (
            f"azureml://locations/{ws.location}/workspaces/{ws.workspace_id}/{kind}/{name}/versions/{version}"
        )

    # Request guard -----------------------------------------------------------------------------

    def _guarded(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Authenticate, check the scope and api-version, and render errors in Azure's shape."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            request_id = str(uuid.uuid4())
            headers = {
                "x-ms-request-id": request_id,
                "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id", request_id),
            }
            if "x-ms-client-request-id" in request.headers:
                headers["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
            try:
                self._authenticate(request)
                self._check_scope(request)
                response = await handler(request)
            except AzureError as error:
                response = error_response(error)
            response.headers.update(headers)
            return response

        return endpoint

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.encode(), self._management_token.encode()
        ):
            raise AzureError(
                401,
                "AuthenticationFailed",
                "Authentication failed: send 'Authorization: Bearer <token>' with the emulator's management "
                "token (the arm-token file in its state directory).",
            )

    def _check_scope(self, request: Request) -> None:
        params = request.path_params
        if "api-version" not in request.query_params:
            raise AzureError(
                400, "MissingApiVersionParameter", "The api-version query parameter is required."
            )
        ws = self.workspace
        if params.get("subscription", ws.subscription) != ws.subscription:
            raise AzureError(
                404,
                "SubscriptionNotFound",
                f"The subscription '{params['subscription']}' could not be found.",
            )
        if params.get("resource_group", ws.resource_group) != ws.resource_group:
            raise AzureError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{params['resource_group']}' could not be found.",
            )
        if params.get("workspace", ws.name) != ws.name:
            raise NotFound(
                f"Workspace '{params['workspace']}' does not exist; the emulator serves '{ws.name}'."
            )


def error_response(error: AzureError) -> JSONResponse:
    """Azure's error shape: {"error": {"code": ..., "message": ...}}."""
    body = {"error": {"code": error.code, "message": error.message, "details": []}}
    return JSONResponse(body, status_code=error.status, headers={"x-ms-error-code": error.code})


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise AzureError(
            400, "InvalidRequestContent", f"The request content is not valid JSON: {error}."
        ) from None
    if not isinstance(body, dict):
        raise AzureError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    return body


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_argument(f"'{what}' must be a JSON object.")
    return value


def _string_map(value: Any, what: str) -> dict[str, str]:
    return {str(key): str(item) for key, item in _object(value, what).items() if item is not None}


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise bad_argument(f"'{what}' must be an integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_argument(f"'{what}' must be an integer, not {value!r}.") from None


def _seconds(value: Any, what: str) -> float:
    try:
        return isodate.parse_duration(str(value)).total_seconds()
    except (isodate.ISO8601Error, ValueError, AttributeError):
        raise bad_argument(f"'{what}' must be an ISO 8601 duration such as PT5S, not {value!r}.") from None


def _request_settings(value: Any) -> RequestSettings:
    settings = _object(value, "requestSettings")
    defaults = RequestSettings()
    timeout = settings.get("requestTimeout")
    queue_wait = settings.get("maxQueueWait")
    concurrency = settings.get("maxConcurrentRequestsPerInstance")
    return RequestSettings(
        request_timeout_ms=round(_seconds(timeout, "requestTimeout") * 1000)
        if timeout
        else defaults.request_timeout_ms,
        max_concurrent_requests_per_instance=(
            _int(concurrency, "maxConcurrentRequestsPerInstance")
            if concurrency is not None
            else defaults.max_concurrent_requests_per_instance
        ),
        max_queue_wait_ms=round(_seconds(queue_wait, "maxQueueWait") * 1000)
        if queue_wait
        else defaults.max_queue_wait_ms,
    )


def _probe(value: Any, what: str) -> Probe:
    probe = _object(value, what)
    defaults = Probe()

    def seconds(key: str, default: int) -> int:
        return round(_seconds(probe[key], f"{what}.{key}")) if probe.get(key) else default

    def count(key: str, default: int) -> int:
        return _int(probe[key], f"{what}.{key}") if probe.get(key) is not None else default

    return Probe(
        initial_delay=seconds("initialDelay", defaults.initial_delay),
        period=seconds("period", defaults.period),
        timeout=seconds("timeout", defaults.timeout),
        success_threshold=count("successThreshold", defaults.success_threshold),
        failure_threshold=count("failureThreshold", defaults.failure_threshold),
    )


def _probe_json(probe: Probe) -> dict[str, Any]:
    return {
        "initialDelay": _duration(probe.initial_delay),
        "period": _duration(probe.period),
        "timeout": _duration(probe.timeout),
        "successThreshold": probe.success_threshold,
        "failureThreshold": probe.failure_threshold,
    }


def _duration(seconds: float) -> str:
    return isodate.duration_isoformat(dt.timedelta(seconds=seconds))


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


def _system_data(created: float, modified: float) -> dict[str, Any]:
    return {
        "createdBy": "rollout-emulator",
        "createdByType": "Application",
        "createdAt": _iso(created),
        "lastModifiedBy": "rollout-emulator",
        "lastModifiedByType": "Application",
        "lastModifiedAt": _iso(modified or created),
    }
