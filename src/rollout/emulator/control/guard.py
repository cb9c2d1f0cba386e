"""The control plane's guard: every ARM route is authenticated, scoped and rendered here.

A request needs `Authorization: Bearer <management token>` (401), an `api-version` (400) and the
emulated subscription, resource group and workspace (404). Any `AzureError` a handler raises
becomes Azure Resource Manager's error reply, and every reply carries ARM's request-id headers.
"""

from __future__ import annotations

import functools
import hmac
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from rollout.emulator.control.workspace import Workspace
from rollout.emulator.errors import (
    AuthenticationFailed,
    AzureError,
    MissingApiVersionParameter,
    NotFound,
    ResourceGroupNotFound,
    SubscriptionNotFound,
)

Handler = Callable[[Request], Awaitable[Response]]
Renderer = Callable[[AzureError], Response]


class Guard:
    """Wraps the ARM handlers of one workspace, guarded by one management token."""

    def __init__(self, workspace: Workspace, management_token: str) -> None:
        self._workspace = workspace
        self._management_token = management_token

    def __call__(self, handler: Handler) -> Handler:
        """Authenticate, check the scope and api-version, and render errors in Azure's shape."""
        return self.wrap(handler)

    def wrap(self, handler: Handler, *, api_version: bool = True, render: Renderer | None = None) -> Handler:
        """Authenticate and check the scope (and the api-version, unless `api_version` is False);
        errors are rendered by `render` (by default Azure Resource Manager's error reply)."""
        renderer = render or error_response

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
                if api_version and "api-version" not in request.query_params:
                    raise MissingApiVersionParameter("The api-version query parameter is required.")
                self._check_scope(request)
                response = await handler(request)
            except AzureError as error:
                response = renderer(error)
            response.headers.update(headers)
            return response

        return endpoint

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.encode(), self._management_token.encode()
        ):
            raise AuthenticationFailed(
                "Authentication failed: send 'Authorization: Bearer <token>' with the emulator's management "
                "token (the arm-token file in its state directory)."
            )

    def _check_scope(self, request: Request) -> None:
        params = request.path_params
        ws = self._workspace
        if params.get("subscription", ws.subscription) != ws.subscription:
            raise SubscriptionNotFound(f"The subscription '{params['subscription']}' could not be found.")
        if params.get("resource_group", ws.resource_group) != ws.resource_group:
            raise ResourceGroupNotFound(f"Resource group '{params['resource_group']}' could not be found.")
        if params.get("workspace", ws.name) != ws.name:
            raise NotFound(
                f"Workspace '{params['workspace']}' does not exist; the emulator serves '{ws.name}'."
            )


def error_response(error: AzureError) -> Response:
    """Azure Resource Manager's error reply: {"error": {"code", "message", "details"}} and x-ms-error-code."""
    headers = {**error.headers, "x-ms-error-code": error.code}
    return Response(error.to_json(details=True), error.status, headers=headers, media_type="application/json")
