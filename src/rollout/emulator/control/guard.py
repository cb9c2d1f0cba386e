"""The control plane's guard: every ARM route is authenticated, scoped, authorised and rendered here.

A request needs `Authorization: Bearer <token>` (401): the management token (Owner) or an
identity's token (see principals); an `api-version` (400) and the emulated subscription, resource
group and workspace (404); then the route's Azure action within the caller's roles (403
`AuthorizationFailed`, naming the client, the action and the scope, before the handler runs, so
nothing changes). The caller is `request.state.principal` for the handler. Any `AzureError` a
handler raises becomes Azure Resource Manager's error reply, and every reply carries ARM's
request-id headers.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rollout.emulator.control.arm_actions import arm_action, request_scope
from rollout.emulator.control.principals import Principals
from rollout.emulator.control.workspace import Workspace
from rollout.emulator.errors import (
    AuthenticationFailed,
    AuthorizationFailed,
    AzureError,
    MissingApiVersionParameter,
    NotFound,
    ResourceGroupNotFound,
    SubscriptionNotFound,
)
from rollout.emulator.rbac import Principal

Handler = Callable[[Request], Awaitable[Response]]
Renderer = Callable[[AzureError], Response]
# The Azure action a route needs: one, one by the request's method, or None (any caller may).
Action = str | Callable[[str], str] | None


class Guard:
    """Wraps the ARM handlers of one workspace, guarded by its principals' tokens and roles."""

    def __init__(self, workspace: Workspace, principals: Principals) -> None:
        self._workspace = workspace
        self.principals = principals

    def __call__(self, handler: Handler, action: Action = None) -> Handler:
        """Authenticate, check the scope, api-version and `action`, and render errors in Azure's shape."""
        return self.wrap(handler, action=action)

    def wrap(
        self,
        handler: Handler,
        *,
        api_version: bool = True,
        render: Renderer | None = None,
        action: Action = None,
    ) -> Handler:
        """Authenticate and check the scope (and the api-version, unless `api_version` is False) and
        that the caller's roles grant `action` (None: any caller may); errors are rendered by `render`
        (by default Azure Resource Manager's error reply)."""
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
                principal = self._authenticate(request)
                if api_version and "api-version" not in request.query_params:
                    raise MissingApiVersionParameter("The api-version query parameter is required.")
                self._check_scope(request)
                scope = request_scope(request.method, request.url.path)
                wanted = action(request.method) if callable(action) else action
                if wanted is not None and not principal.allowed(wanted, scope):
                    raise AuthorizationFailed(principal.refusal(wanted, scope))
                request.state.principal = principal
                response = await handler(request)
            except AzureError as error:
                response = renderer(error)
            response.headers.update(headers)
            return response

        return endpoint

    def routes(self, table: list[tuple[str, str, Handler]]) -> list[Route]:
        """ARM routes (method, path template, handler), each guarded by the Azure action of its
        method and resource type."""
        return [
            Route(
                path,
                self(handler, arm_action(method, path)),
                methods=[method],
                name=f"arm.{handler.__name__}.{method.lower()}",
            )
            for method, path, handler in table
        ]

    def _authenticate(self, request: Request) -> Principal:
        principal = self.principals.from_header(request.headers.get("authorization", ""))
        if principal is None:
            raise AuthenticationFailed(
                "Authentication failed: send 'Authorization: Bearer <token>' with the emulator's management "
                "token (the arm-token file in its state directory) or a token it issued to an identity "
                "(`rollout emulator identity`)."
            )
        return principal

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
