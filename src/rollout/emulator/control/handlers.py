"""The control plane's handlers: parse the request, call the state, answer with the JSON shape.

One method per ARM operation azure-ai-ml sends for online endpoints, deployments, registered models
and long-running operations (routes in `routes`, authentication in `guard`, request parsing in
`parsing`, reply bodies in `shapes`). Rules live in `rollout.emulator.state`; background work in
`provisioning`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rollout.emulator.asset_state import AssetState
from rollout.emulator.control.lro import FAILED, Operation, Operations
from rollout.emulator.control.model_registry import ModelRegistry, RegisteredVersion
from rollout.emulator.control.parsing import (
    AUTH_MODES_FROM_REST,
    LOG_CONTAINERS,
    deployment_from_body,
    identity_type,
    integer,
    json_body,
    json_object,
    string_map,
)
from rollout.emulator.control.provisioning import Provisioner
from rollout.emulator.control.shapes import Shapes
from rollout.emulator.control.timing import Change
from rollout.emulator.control.workspace import Workspace
from rollout.emulator.errors import BadArgument, NotFound
from rollout.emulator.resources import EndpointPatch, EndpointSettings
from rollout.emulator.state import EmulatorState

log = logging.getLogger("rollout.emulator")

OPERATION_API_VERSION = "2023-04-01-preview"


@dataclass(kw_only=True)
class ArmApi:
    """Handlers of the ARM routes, bound to one emulator's state."""

    state: EmulatorState
    assets: AssetState
    provisioner: Provisioner
    registry: ModelRegistry
    operations: Operations
    workspace: Workspace
    base_url: str
    poll_interval_ms: int = 200
    shapes: Shapes = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.shapes = Shapes(self.workspace, self.base_url)

    # Workspace ---------------------------------------------------------------------------------

    async def get_workspace(self, request: Request) -> Response:
        """Get the workspace (its location, id and MLflow tracking URI)."""
        return JSONResponse(self.shapes.workspace())

    # Endpoints ---------------------------------------------------------------------------------

    async def list_endpoints(self, request: Request) -> Response:
        """List the online endpoints of the workspace."""
        return JSONResponse({"value": [self.shapes.endpoint(e) for e in self.state.list_endpoints()]})

    async def get_endpoint(self, request: Request) -> Response:
        """Get an online endpoint."""
        return JSONResponse(self.shapes.endpoint(self.state.get_endpoint(request.path_params["endpoint"])))

    async def put_endpoint(self, request: Request) -> Response:
        """Create or replace an online endpoint.

        A full PUT: traffic, mirror traffic, tags, description and auth mode.

        201 while the operation runs (a changed endpoint reads Updating, with its old traffic, until
        it completes), 200 when it completed at once (the instant timing profile).
        """
        name = request.path_params["endpoint"]
        body = await json_body(request)
        properties = json_object(body.get("properties"), "properties")
        if properties.get("compute"):
            raise BadArgument(
                "Kubernetes online endpoints (compute) are not emulated; use a managed endpoint."
            )
        rest_auth = str(properties.get("authMode") or "Key")
        auth_mode = AUTH_MODES_FROM_REST.get(rest_auth.lower())
        if auth_mode is None:
            raise BadArgument(
                f"Auth mode '{rest_auth}' is not supported by the emulator; use Key or AMLToken."
            )
        exists = self.state.has_endpoint(name)
        change: Change = "endpoint_update" if exists else "endpoint_create"
        seconds = self.provisioner.seconds(change)
        settings = EndpointSettings(
            auth_mode=auth_mode,
            description=properties.get("description"),
            tags=dict(string_map(body.get("tags"), "tags")),
            traffic=dict(json_object(properties.get("traffic"), "traffic")),
            mirror_traffic=dict(json_object(properties.get("mirrorTraffic"), "mirrorTraffic")),
            identity_type=identity_type(body.get("identity")) or "SystemAssigned",
        )
        endpoint, created = self.state.put_endpoint(name, settings, deferred=seconds > 0)
        operation = self._endpoint_operation(endpoint.name, "Creating" if created else "Updating", change)
        log.info("endpoint %s %s", endpoint.name, "created" if created else "updated")
        return JSONResponse(
            self.shapes.endpoint(endpoint, operation_uri=self._status_uri(request, operation)),
            status_code=201 if created or not operation.done else 200,
            headers=self._lro_headers(request, operation, location=True),
        )

    async def patch_endpoint(self, request: Request) -> Response:
        """Update an online endpoint in part (traffic, mirror traffic, tags, description, identity).

        200 with the endpoint when the change completed at once (the instant timing profile),
        202 with Location and Azure-AsyncOperation while it runs (it reads Updating meanwhile).
        """
        name = request.path_params["endpoint"]
        body = await json_body(request)
        properties = json_object(body.get("properties"), "properties")
        seconds = self.provisioner.seconds("endpoint_update")
        patch = EndpointPatch(
            description=properties.get("description"),
            tags=string_map(body["tags"], "tags") if body.get("tags") is not None else None,
            traffic=_optional_map(properties, "traffic"),
            mirror_traffic=_optional_map(properties, "mirrorTraffic"),
            identity_type=identity_type(body.get("identity")),
        )
        endpoint = self.state.patch_endpoint(name, patch, deferred=seconds > 0)
        operation = self._endpoint_operation(endpoint.name, "Updating", "endpoint_update")
        log.info("endpoint %s patched", endpoint.name)
        if operation.done:
            return JSONResponse(self.shapes.endpoint(self.state.get_endpoint(endpoint.name)))
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    def _endpoint_operation(self, name: str, action: str, change: Change) -> Operation:
        """The operation of an accepted endpoint change: done now (instant), or finished in the background."""
        seconds = self.provisioner.seconds(change)
        operation = self.operations.start(action, seconds)
        if seconds > 0:
            self.provisioner.finish_endpoint(name, operation, change)
        else:
            self.operations.succeed(operation)
        return operation

    async def delete_endpoint(self, request: Request) -> Response:
        """Delete an online endpoint and its deployments (long-running)."""
        endpoint = self.state.begin_delete_endpoint(request.path_params["endpoint"])
        operation = self.operations.start("Deleting", self.provisioner.seconds("endpoint_delete"))
        self.provisioner.delete_endpoint(endpoint.name, operation)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def list_keys(self, request: Request) -> Response:
        """Get the primary and secondary keys of a key-auth endpoint."""
        endpoint = self.state.get_endpoint(request.path_params["endpoint"])
        if endpoint.auth_mode != "key":
            raise BadArgument(f"Endpoint '{endpoint.name}' uses {endpoint.auth_mode} auth; it has no keys.")
        return JSONResponse(self.shapes.keys(endpoint))

    async def regenerate_keys(self, request: Request) -> Response:
        """Regenerate the primary or secondary key; the old key stops working at once (long-running)."""
        body = await json_body(request)
        key_type = str(body.get("keyType") or "")
        self.state.regenerate_key(request.path_params["endpoint"], key_type, body.get("keyValue"))
        operation = self.operations.start()
        self.operations.succeed(operation)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def get_token(self, request: Request) -> Response:
        """Issue a scoring token for an aml_token-auth endpoint."""
        token = self.state.issue_token(request.path_params["endpoint"])
        return JSONResponse(self.shapes.token(token))

    # Deployments -------------------------------------------------------------------------------

    async def list_deployments(self, request: Request) -> Response:
        """List the deployments of an online endpoint."""
        deployments = self.state.list_deployments(request.path_params["endpoint"])
        return JSONResponse({"value": [self.shapes.deployment(d) for d in deployments]})

    async def get_deployment(self, request: Request) -> Response:
        """Get a deployment, with its provisioning state."""
        params = request.path_params
        return JSONResponse(
            self.shapes.deployment(self.state.get_deployment(params["endpoint"], params["deployment"]))
        )

    async def put_deployment(self, request: Request) -> Response:
        """Create or update a deployment (long-running: Creating/Updating until its instances are ready)."""
        params = request.path_params
        body = await json_body(request)
        deployment = deployment_from_body(
            params["endpoint"], params["deployment"], body, self.state.packaged_model
        )
        self.assets.check_deployment(deployment, self.workspace.name)
        stored, created = self.state.put_deployment(deployment)
        change: Change = "deployment_create" if created else "deployment_update"
        operation = self.operations.start(stored.provisioning_state, self.provisioner.seconds(change))
        self.provisioner.deploy(stored, operation)
        log.info(
            "deployment %s/%s %s (%s)",
            stored.endpoint,
            stored.name,
            stored.provisioning_state,
            stored.model_uri or stored.scoring_script,
        )
        return JSONResponse(
            self.shapes.deployment(stored, operation_uri=self._status_uri(request, operation)),
            status_code=201 if created else 200,
            headers=self._lro_headers(request, operation, location=True),
        )

    async def patch_deployment(self, request: Request) -> Response:
        """Update a deployment in part: its tags (at once, 200) or its sku capacity (re-provisioned, 202)."""
        params = request.path_params
        body = await json_body(request)
        current = self.state.get_deployment(params["endpoint"], params["deployment"])
        tags = string_map(body["tags"], "tags") if body.get("tags") is not None else None
        sku = json_object(body.get("sku"), "sku")
        capacity = integer(sku["capacity"], "sku.capacity") if sku.get("capacity") is not None else None
        if capacity is None or capacity == current.instance_count:
            updated = self.state.set_deployment_tags(current.endpoint, current.name, tags)
            return JSONResponse(self.shapes.deployment(updated))
        current.instance_count = capacity
        if tags is not None:
            current.tags = tags
        stored, _ = self.state.put_deployment(current)
        operation = self.operations.start("Updating", self.provisioner.seconds("deployment_update"))
        self.provisioner.deploy(stored, operation)
        log.info("deployment %s/%s scaled to %d", stored.endpoint, stored.name, capacity)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def list_skus(self, request: Request) -> Response:
        """List the skus a deployment can scale to (one: the managed default, 1 to 20 instances)."""
        params = request.path_params
        deployment = self.state.get_deployment(params["endpoint"], params["deployment"])
        return JSONResponse({"value": [self.shapes.deployment_sku(deployment)]})

    async def delete_deployment(self, request: Request) -> Response:
        """Delete a deployment that takes no live or mirrored traffic (long-running)."""
        params = request.path_params
        deployment = self.state.begin_delete_deployment(params["endpoint"], params["deployment"])
        operation = self.operations.start("Deleting", self.provisioner.seconds("deployment_delete"))
        self.provisioner.delete_deployment(deployment.endpoint, deployment.name, operation)
        return Response(status_code=202, headers=self._lro_headers(request, operation, location=True))

    async def get_logs(self, request: Request) -> Response:
        """Get the recent log of a deployment's inference server or storage initializer."""
        params = request.path_params
        deployment = self.state.get_deployment(params["endpoint"], params["deployment"])
        body = await json_body(request)
        container = body.get("containerType")
        container_type = LOG_CONTAINERS.get(str(container).lower()) if container else None
        if container and container_type is None:
            raise BadArgument(
                f"Container type '{container}' is invalid; use InferenceServer or StorageInitializer."
            )
        tail = body.get("tail")
        lines = integer(tail, "tail") if tail is not None else None
        pool = self.provisioner.pool
        content = await asyncio.to_thread(
            pool.logs, deployment.endpoint, deployment.name, lines, container_type
        )
        return JSONResponse({"content": content})

    # Models (from the MLflow registry) ---------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        """List the registered models (from the MLflow registry)."""
        models = await asyncio.to_thread(self.registry.list_models)
        return JSONResponse({"value": [self.shapes.model(m) for m in models]})

    async def get_model(self, request: Request) -> Response:
        """Get a registered model and its latest version."""
        name = request.path_params["model"]
        model = await asyncio.to_thread(self.registry.get_model, name)
        if model is None:
            raise NotFound(f"Model '{name}' does not exist in the registry {self.registry.registry_uri}.")
        return JSONResponse(self.shapes.model(model))

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
        return JSONResponse({"value": [self.shapes.model_version(v) for v in versions]})

    async def get_model_version(self, request: Request) -> Response:
        """Get a model version; azureml:<name>:<version> is models:/<name>/<version>."""
        version = await self._registered_version(request)
        return JSONResponse(self.shapes.model_version(version))

    async def package_model(self, request: Request) -> Response:
        """Package a model version (`package_model=True`): recorded, answered as the environment it became."""
        version = await self._registered_version(request)
        await json_body(request)
        package = self.state.package_model(version.name, version.version)
        operation = self.operations.start()
        self.operations.succeed(operation)
        environment_id = (
            f"{self.workspace.id}/environments/{package.environment_name}"
            f"/versions/{package.environment_version}"
        )
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
        body = self.shapes.operation(operation, request.url.path)
        headers = {} if operation.done else self._retry_headers()
        return JSONResponse(body, headers=headers)

    async def operation_result(self, request: Request) -> Response:
        """Get the result of a long-running operation (Location): 202 while running."""
        operation = self._operation(request)
        if not operation.done:
            headers = {"Location": str(request.url), **self._retry_headers()}
            return Response(status_code=202, headers=headers)
        if operation.status == FAILED and operation.error is not None:
            raise operation.error.with_traceback(None)  # the same error answers every poll
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

    def _status_uri(self, request: Request, operation: Operation) -> str:
        """The Azure-AsyncOperation URL of an operation."""
        api_version = request.query_params.get("api-version", OPERATION_API_VERSION)
        base = self.base_url + self.workspace.operations_path()
        return f"{base}/mfeOperationsStatus/{operation.id}?api-version={api_version}"

    def _lro_headers(self, request: Request, operation: Operation, *, location: bool) -> dict[str, str]:
        api_version = request.query_params.get("api-version", OPERATION_API_VERSION)
        base = self.base_url + self.workspace.operations_path()
        headers = {
            "Azure-AsyncOperation": self._status_uri(request, operation),
            "x-ms-async-operation-timeout": "PT1H",
            **self._retry_headers(),
        }
        if location:
            headers["Location"] = f"{base}/mfeOperationResults/{operation.id}?api-version={api_version}"
        return headers

    def _retry_headers(self) -> dict[str, str]:
        # azure-core honours retry-after-ms, so clients poll at the emulator's pace rather than every 5 s.
        return {"Retry-After-ms": str(self.poll_interval_ms)}


def _optional_map(properties: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A map a PATCH may carry (None when it leaves it as it is)."""
    return json_object(properties[key], key) if properties.get(key) is not None else None
