"""The workspace's code and environment versions over ARM, as azure-ai-ml registers them before it PUTs
a deployment with `code_configuration` and an inline `environment`.

Under `.../workspaces/{w}`:
- `GET codes/{name}/versions` (`?hash=&hashVersion=`: the versions of any name whose folder has that
  content hash, which is how azure-ai-ml finds a folder it uploaded before), `GET` and `PUT
  codes/{name}/versions/{version}` (200 or 201; `codeUri` a folder of the emulator's blob storage).
- `POST codes/{name}/versions/{version}/startPendingUpload` (`TemporaryBlobReference`): a fresh blob
  container and a container SAS to upload the folder to.
- `GET environments/{name}/versions`, `GET` and `PUT environments/{name}/versions/{version}`.

Rules live in `rollout.emulator.assets`, state in `rollout.emulator.asset_state`, shapes in `shapes`.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rollout.emulator.asset_state import AssetState
from rollout.emulator.assets import CodeVersion, EnvironmentVersion
from rollout.emulator.constants import STORAGE_ACCOUNT
from rollout.emulator.control.artifact_store import BLOB_CONTAINER, ArtifactStore
from rollout.emulator.control.guard import Guard, Handler
from rollout.emulator.control.parsing import json_body, json_object, string_map
from rollout.emulator.control.shapes import Shapes
from rollout.emulator.control.workspace import WORKSPACE_PATH, Workspace
from rollout.emulator.errors import BadArgument

CODE = WORKSPACE_PATH + "/codes/{name}"
ENVIRONMENT = WORKSPACE_PATH + "/environments/{name}"
PENDING_UPLOAD_TYPE = "TemporaryBlobReference"
UPLOAD_PERMISSIONS = "rcwl"
T = TypeVar("T")
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(kw_only=True)
class AssetApi:
    """Handlers of the code and environment version routes of one workspace."""

    assets: AssetState
    blobs: ArtifactStore
    shapes: Shapes
    workspace: Workspace

    # Code versions -----------------------------------------------------------------------------

    async def list_code_versions(self, request: Request) -> Response:
        """List the versions of a code asset (or, given `hash`, the code versions with that content)."""
        content_hash = request.query_params.get("hash")
        if content_hash:
            found = self.assets.find_codes(content_hash, request.query_params.get("hashVersion"))
        else:
            found = self.assets.list_codes(request.path_params["name"])
        return JSONResponse({"value": [self.shapes.code_version(code) for code in _top(request, found)]})

    async def get_code_version(self, request: Request) -> Response:
        """Get a code version."""
        params = request.path_params
        return JSONResponse(self.shapes.code_version(self.assets.get_code(params["name"], params["version"])))

    async def put_code_version(self, request: Request) -> Response:
        """Register a code version: a folder uploaded to the emulator's blob storage (201, or 200 again)."""
        params = request.path_params
        properties = json_object((await json_body(request)).get("properties"), "properties")
        code_uri = properties.get("codeUri")
        if not isinstance(code_uri, str) or not code_uri:
            raise BadArgument("'properties.codeUri' is required: the blob folder holding the code.")
        location = self.blobs.blob_location(code_uri)
        if location is None:
            raise BadArgument(
                f"codeUri '{code_uri}' is not a folder of the emulator's storage account: upload the code "
                "to the blob container startPendingUpload gives (azure-ai-ml does so for a local folder)."
            )
        folder = self.blobs.blob_directory(*location)
        if not await asyncio.to_thread(_has_files, folder):
            raise BadArgument(f"codeUri '{code_uri}' names no uploaded files: upload the folder first.")
        code = CodeVersion(
            name=params["name"],
            version=params["version"],
            code_uri=code_uri.rstrip("/"),
            container=location[0],
            prefix=location[1],
            **_asset_fields(properties),
        )
        stored, created = self.assets.put_code(code)
        return JSONResponse(self.shapes.code_version(stored), status_code=201 if created else 200)

    async def start_pending_upload(self, request: Request) -> Response:
        """Start an upload: a fresh blob container and a SAS to write the code folder into it."""
        body = await json_body(request)
        upload_type = body.get("pendingUploadType") or PENDING_UPLOAD_TYPE
        if upload_type != PENDING_UPLOAD_TYPE:
            raise BadArgument(f"pendingUploadType '{upload_type}' is not emulated: use {PENDING_UPLOAD_TYPE}")
        upload_id = str(body.get("pendingUploadId") or uuid.uuid4())
        container = upload_id.lower()
        if not _CONTAINER_NAME.match(container) or container == BLOB_CONTAINER:
            raise BadArgument(
                f"pendingUploadId '{upload_id}' cannot name an upload's blob container: use 3 to 63 "
                "letters, digits and single dashes (a GUID does)."
            )
        storage_id = (
            f"/subscriptions/{self.workspace.subscription}/resourceGroups/{self.workspace.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}"
        )
        return JSONResponse(
            {
                "blobReferenceForConsumption": {
                    "blobUri": self.blobs.container_base(container),
                    "storageAccountArmId": storage_id,
                    "credential": {
                        "credentialType": "SAS",
                        "sasUri": self.blobs.container_url(container, UPLOAD_PERMISSIONS),
                    },
                },
                "pendingUploadId": upload_id,
                "pendingUploadType": PENDING_UPLOAD_TYPE,
            }
        )

    # Environment versions ----------------------------------------------------------------------

    async def list_environment_versions(self, request: Request) -> Response:
        """List the versions of an environment, newest first."""
        found = self.assets.list_environments(request.path_params["name"])
        return JSONResponse({"value": [self.shapes.environment_version(e) for e in _top(request, found)]})

    async def get_environment_version(self, request: Request) -> Response:
        """Get an environment version (its conda file, image, build context)."""
        params = request.path_params
        environment = self.assets.get_environment(params["name"], params["version"])
        return JSONResponse(self.shapes.environment_version(environment))

    async def put_environment_version(self, request: Request) -> Response:
        """Register an environment version (201; 200 if it existed with the same image and conda file)."""
        params = request.path_params
        properties = json_object((await json_body(request)).get("properties"), "properties")
        build = properties.get("build")
        inference = properties.get("inferenceConfig")
        environment = EnvironmentVersion(
            name=params["name"],
            version=params["version"],
            image=_optional_text(properties, "image"),
            conda_file=_conda_file(properties.get("condaFile")),
            build=json_object(build, "build") if build is not None else None,
            os_type=_optional_text(properties, "osType") or "Linux",
            inference_config=json_object(inference, "inferenceConfig") if inference is not None else None,
            **_asset_fields(properties),
        )
        stored, created = self.assets.put_environment(environment)
        return JSONResponse(self.shapes.environment_version(stored), status_code=201 if created else 200)


def routes(api: AssetApi, guard: Guard) -> list[Route]:
    """The code and environment version routes, guarded like every ARM route."""
    table: list[tuple[str, str, Handler]] = [
        ("GET", CODE + "/versions", api.list_code_versions),
        ("GET", CODE + "/versions/{version}", api.get_code_version),
        ("PUT", CODE + "/versions/{version}", api.put_code_version),
        ("POST", CODE + "/versions/{version}/startPendingUpload", api.start_pending_upload),
        ("GET", ENVIRONMENT + "/versions", api.list_environment_versions),
        ("GET", ENVIRONMENT + "/versions/{version}", api.get_environment_version),
        ("PUT", ENVIRONMENT + "/versions/{version}", api.put_environment_version),
    ]
    return guard.routes(table)


def _asset_fields(properties: dict[str, Any]) -> dict[str, Any]:
    """What every asset version takes from a PUT: description, tags, properties, anonymity, archiving."""
    description = properties.get("description")
    return {
        "description": str(description) if description is not None else None,
        "tags": string_map(properties.get("tags"), "tags"),
        "properties": string_map(properties.get("properties"), "properties"),
        "is_anonymous": properties.get("isAnonymous") is True,
        "is_archived": properties.get("isArchived") is True,
    }


def _optional_text(properties: dict[str, Any], key: str) -> str | None:
    value = properties.get(key)
    if value is not None and not isinstance(value, str):
        raise BadArgument(f"'properties.{key}' must be a string.")
    return value or None


def _conda_file(value: Any) -> str | None:
    """The conda file's text, which must be a YAML mapping (Azure reads its dependencies)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadArgument("'properties.condaFile' must be the conda file's YAML text.")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise BadArgument(f"'properties.condaFile' is not valid YAML: {reason}") from None
    if not isinstance(parsed, dict):
        raise BadArgument("'properties.condaFile' must be a YAML mapping (name, channels, dependencies).")
    return value


def _top(request: Request, items: list[T]) -> list[T]:
    """The first `$top` items when the request asks for fewer."""
    top = request.query_params.get("$top")
    return items[: int(top)] if top and top.isdigit() else items


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))
