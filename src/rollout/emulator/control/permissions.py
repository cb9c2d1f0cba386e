"""ARM's `GET {scope}/providers/Microsoft.Authorization/permissions` (api-version 2022-04-01): what
the caller may do at a scope, one entry per role assigned to it there or above, as `az` and the
portal read it: `{"value": [{"actions", "notActions", "dataActions", "notDataActions"}]}`. Any
authenticated caller may ask about itself."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rollout.emulator.control.guard import Guard
from rollout.emulator.control.workspace import WORKSPACE_PATH
from rollout.emulator.rbac import Principal

SUFFIX = "/providers/Microsoft.Authorization/permissions"
RESOURCE_GROUP_PATH = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
ENDPOINT_PATH = WORKSPACE_PATH + "/onlineEndpoints/{endpoint}"
CONTAINER_PATH = (
    RESOURCE_GROUP_PATH
    + "/providers/Microsoft.Storage/storageAccounts/{account}/blobServices/default/containers/{container}"
)
LEVELS = (
    ("workspace", WORKSPACE_PATH),
    ("resource_group", RESOURCE_GROUP_PATH),
    ("endpoint", ENDPOINT_PATH),
    ("container", CONTAINER_PATH),
)


async def list_permissions(request: Request) -> Response:
    """The caller's permissions at the scope the path names."""
    principal: Principal = request.state.principal
    scope = request.url.path.rstrip("/").removesuffix(SUFFIX)
    return JSONResponse({"value": principal.permissions(scope)})


def routes(guard: Guard) -> list[Route]:
    """The permissions of the caller at the workspace, its resource group, an online endpoint and
    a blob container of a storage account (the release lock's)."""
    return [
        Route(path + SUFFIX, guard(list_permissions), methods=["GET"], name=f"arm.permissions.{level}")
        for level, path in LEVELS
    ]
