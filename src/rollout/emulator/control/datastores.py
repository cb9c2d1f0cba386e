"""The workspace's datastores over ARM, as azure-ai-ml reads them (`ml_client.datastores`).

The workspace has one datastore, its default `workspaceblobstore`: the blob container of the
emulator's storage account that holds its artifacts (`AzureBlob`, `https`, the cloud's storage
suffix as `endpoint`). Its credentials are `None`, as a workspace whose system datastores use
identity-based access (`systemDatastoresAuthMode: identity`) shows them: clients reach the container
with their own Entra ID token (a data role such as Storage Blob Data Contributor on it), which the
emulator's blob service accepts as a bearer besides a SAS. With no account key there is nothing for
`listSecrets` to list, and azure-ai-ml calls it only for a datastore with key or SAS credentials.

Under `.../workspaces/{w}`:
- `GET datastores` (`?isDefault=true`, `names=a,b`, `count`): `{"value": [Datastore]}`; this is what
  `datastores.get_default()` and `datastores.list()` call.
- `GET datastores/{name}`: the datastore, or 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX
from rollout.emulator.control.artifact_store import BLOB_CONTAINER
from rollout.emulator.control.guard import Guard, Handler
from rollout.emulator.control.shapes import system_data
from rollout.emulator.control.workspace import PROVIDER, WORKSPACE_PATH, Workspace
from rollout.emulator.errors import NotFound

DATASTORES = WORKSPACE_PATH + "/datastores"
DEFAULT_DATASTORE = "workspaceblobstore"


@dataclass(kw_only=True)
class DatastoreApi:
    """Handlers of the datastore routes of one workspace (one datastore, its default)."""

    workspace: Workspace
    created: float  # when the workspace's storage was made (its systemData)

    async def list_datastores(self, request: Request) -> Response:
        """The workspace's datastores (filtered by `isDefault` and `names`)."""
        query = request.query_params
        names = {name.strip().lower() for name in query.get("names", "").split(",") if name.strip()}
        found = [self.default()]
        if query.get("isDefault", "").lower() == "false":
            found = []
        if names:
            found = [store for store in found if store["name"].lower() in names]
        return JSONResponse({"value": found})

    async def get_datastore(self, request: Request) -> Response:
        """One datastore by name (Azure ML's datastore names are case-insensitive)."""
        name = request.path_params["name"]
        if name.lower() != DEFAULT_DATASTORE:
            raise NotFound(
                f"Datastore '{name}' does not exist in workspace '{self.workspace.name}'; "
                f"the emulator serves '{DEFAULT_DATASTORE}'."
            )
        return JSONResponse(self.default())

    def default(self) -> dict[str, Any]:
        """`workspaceblobstore` as ARM shows it (DatastoreResource with AzureBlobDatastore properties)."""
        return {
            "id": f"{self.workspace.id}/datastores/{DEFAULT_DATASTORE}",
            "name": DEFAULT_DATASTORE,
            "type": f"{PROVIDER}/workspaces/datastores",
            "properties": {
                "description": None,
                "tags": {},
                "properties": {},
                "isDefault": True,
                "credentials": {"credentialsType": "None"},
                "datastoreType": "AzureBlob",
                "accountName": STORAGE_ACCOUNT,
                "containerName": BLOB_CONTAINER,
                "endpoint": STORAGE_SUFFIX,
                "protocol": "https",
                "serviceDataAccessAuthIdentity": "None",
                "subscriptionId": self.workspace.subscription,
                "resourceGroup": self.workspace.resource_group,
            },
            "systemData": system_data(self.created, self.created),
        }


def routes(api: DatastoreApi, guard: Guard) -> list[Route]:
    """The datastore routes, guarded like every ARM route."""
    table: list[tuple[str, str, Handler]] = [
        ("GET", DATASTORES, api.list_datastores),
        ("GET", DATASTORES + "/{name}", api.get_datastore),
    ]
    return guard.routes(table)
