"""The workspace's artifact service and blob storage, as azureml-mlflow reaches them.

Artifact service (guarded by the management token, no api-version, errors in Azure's shape), under
`/artifact/v2.0/subscriptions/{s}/resourceGroups/{r}/providers/Microsoft.MachineLearningServices/workspaces/{w}/artifacts`:
- `POST {origin}/{container}/batch/metadata` `{"paths": [{"path": ...}]}`: creates empty artifacts;
  answers `{"artifacts": {path: Artifact}, "artifactContentInformation": {path: {contentUri, ...}},
  "errors": {}}`, each `contentUri` a blob URL with a SAS to upload to.
- `GET {origin}/{container}` (`?path=` prefix):
  `{"value": [Artifact], "continuationToken": null, "nextLink": null}`.
- `GET {origin}/{container}/contentinfo?path=`: `{contentUri, origin, container, path}` to download
  from (404 if absent).
- `GET {origin}/{container}/metadata?path=`: the Artifact.

Blob storage (authorised by the SAS in the URL, a blob's or its container's, or by an Entra ID
bearer token: the management token, with every data permission, or an identity's token, with the
data actions its roles grant on the container (`.../containers/blobs/read|write|delete`; 403
`AuthorizationPermissionMismatch` without); a wrong token or SAS is 403 `AuthenticationFailed`;
errors as Azure Storage's XML), path-style at `/{account}.blob.{suffix}/{container}/{blob}`: `PUT`
of a block blob (201; `If-None-Match: *` on an existing blob: 409; a `Content-MD5` that does not
match: 400), `PUT ?comp=metadata` (200), `GET` (200, or 206 for `Range`/`x-ms-range`) and
`HEAD`, each checked against the blob's lease (`x-ms-lease-id`; rules in blob_leases); metadata
travels as `x-ms-meta-*` headers, as azure-ai-ml's upload confirmation does. Lease Blob and
`DELETE` are in blob_lease_api.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import functools
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rollout.emulator.control.arm_actions import BLOB_DATA_ACTIONS, container_scope
from rollout.emulator.control.artifact_store import Artifact, ArtifactStore, etag
from rollout.emulator.control.blob_leases import lease_id_header
from rollout.emulator.control.lease_table import LeaseTable
from rollout.emulator.control.parsing import json_body
from rollout.emulator.control.principals import Principals
from rollout.emulator.errors import (
    AuthenticationFailed,
    AuthorizationPermissionMismatch,
    AzureError,
    BadArgument,
    BlobAlreadyExists,
    BlobNotFound,
    InvalidRange,
    Md5Mismatch,
    MissingRequiredHeader,
    NotFound,
)

STORAGE_VERSION = "2021-08-06"
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
META_PREFIX = "x-ms-meta-"


class ArtifactApi:
    """The artifact service of the workspace, over one artifact store."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    async def create_empty_artifacts(self, request: Request) -> Response:
        """Create empty artifacts in a container; their blob URLs to upload the contents to."""
        origin, container = request.path_params["origin"], request.path_params["container"]
        body = await json_body(request)
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, dict) and p.get("path") for p in paths):
            raise BadArgument("The body must be {'paths': [{'path': '<artifact path>'}, ...]}.")
        artifacts: dict[str, Any] = {}
        contents: dict[str, Any] = {}
        for entry in paths:
            artifact = Artifact(origin, container, str(entry["path"]).lstrip("/"))
            artifacts[artifact.path] = _artifact_json(artifact)
            contents[artifact.path] = self._content_json(artifact, "rcw")
        return JSONResponse({"artifacts": artifacts, "artifactContentInformation": contents, "errors": {}})

    async def list_artifacts(self, request: Request) -> Response:
        """List the artifacts of a container (under `path`)."""
        origin, container = request.path_params["origin"], request.path_params["container"]
        prefix = request.query_params.get("path", "").lstrip("/")
        found = await asyncio.to_thread(self.store.list, origin, container, prefix)
        return JSONResponse(
            {"value": [_artifact_json(a) for a in found], "continuationToken": None, "nextLink": None}
        )

    async def content_information(self, request: Request) -> Response:
        """Where to download an artifact's content from (a blob URL with a read SAS)."""
        artifact = self._existing(request)
        return JSONResponse(self._content_json(artifact, "r"))

    async def artifact_metadata(self, request: Request) -> Response:
        """An artifact's metadata."""
        return JSONResponse(_artifact_json(self._existing(request)))

    def _existing(self, request: Request) -> Artifact:
        params = request.path_params
        artifact = Artifact(
            params["origin"], params["container"], request.query_params.get("path", "").lstrip("/")
        )
        if not artifact.path or not self.store.exists(artifact):
            raise NotFound(f"Artifact '{artifact.path}' does not exist in container '{artifact.container}'.")
        return artifact

    def _content_json(self, artifact: Artifact, permissions: str) -> dict[str, Any]:
        return {
            "contentUri": self.store.content_uri(artifact, permissions),
            "origin": artifact.origin,
            "container": artifact.container,
            "path": artifact.path,
            "tags": {},
        }


class BlobApi:
    """Block blobs of the emulator's storage account, authorised by SAS, guarded by their leases."""

    def __init__(self, store: ArtifactStore, leases: LeaseTable, principals: Principals) -> None:
        self.store = store
        self.leases = leases
        self.principals = principals

    async def put_blob(self, request: Request) -> Response:
        """Upload a block blob (201), or set its metadata (`comp=metadata`, 200)."""
        try:
            container, blob = self._authorised(request, "w")
            metadata = _metadata(request)
            lease_id = lease_id_header(request.headers.get("x-ms-lease-id"))
            if request.query_params.get("comp") == "metadata":
                return await self._set_metadata(container, blob, metadata, lease_id)
            if request.headers.get("x-ms-blob-type", "").lower() != "blockblob":
                raise MissingRequiredHeader("An upload needs the header x-ms-blob-type: BlockBlob.")
            content = await request.body()
            digest = base64.b64encode(hashlib.md5(content).digest()).decode()
            sent = request.headers.get("content-md5")
            if sent and sent != digest:
                raise Md5Mismatch(
                    "The MD5 value specified in the request did not match with the MD5 value calculated "
                    "by the server."
                )
            path = self.store.blob_path(container, blob)
            if request.headers.get("if-none-match") == "*" and path.exists():
                raise BlobAlreadyExists("The specified blob already exists.")
            write = functools.partial(self.store.write_blob, container, blob, content, metadata)
            path = await asyncio.to_thread(self.leases.write, container, blob, lease_id, write)
        except AzureError as error:
            return storage_error(error)
        headers = {**_common_headers(path), "Content-MD5": digest, "x-ms-request-server-encrypted": "true"}
        return Response(status_code=201, headers=headers)

    async def _set_metadata(
        self, container: str, blob: str, metadata: dict[str, str], lease_id: str | None
    ) -> Response:
        """Set Blob Metadata: a write of the blob, so its lease guards it as an upload."""
        path = self.store.blob_path(container, blob)
        if not path.is_file():
            raise BlobNotFound("The specified blob does not exist.")
        write = functools.partial(self.store.set_metadata, container, blob, metadata)
        await asyncio.to_thread(self.leases.write, container, blob, lease_id, write)
        return Response(
            status_code=200, headers={**_common_headers(path), "x-ms-request-server-encrypted": "true"}
        )

    async def get_blob(self, request: Request) -> Response:
        """Download a blob, or a range of it (206)."""
        try:
            container, blob, path = self._existing(request, "r")
            lease_id = lease_id_header(request.headers.get("x-ms-lease-id"))
            lease = (await asyncio.to_thread(self.leases.read, container, blob, lease_id)).headers()
            content = await asyncio.to_thread(path.read_bytes)
            headers = {
                **_common_headers(path),
                **{META_PREFIX + key: value for key, value in self.store.metadata(container, blob).items()},
                **lease,
                "x-ms-blob-type": "BlockBlob",
                "Accept-Ranges": "bytes",
            }
            wanted = request.headers.get("x-ms-range") or request.headers.get("range")
            if not wanted:
                body = b"" if request.method == "HEAD" else content
                return Response(body, 200, headers={**headers, "Content-Length": str(len(content))})
            start, end = _range(wanted, len(content))
        except AzureError as error:
            return storage_error(error)
        part = content[start : end + 1]
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        return Response(b"" if request.method == "HEAD" else part, 206, headers=headers)

    def _existing(self, request: Request, permission: str) -> tuple[str, str, Path]:
        """The container, name and file of an existing blob whose SAS grants `permission`."""
        container, blob = self._authorised(request, permission)
        path = self.store.blob_path(container, blob)
        if not path.is_file():
            raise BlobNotFound("The specified blob does not exist.")
        return container, blob, path

    def _authorised(self, request: Request, permission: str) -> tuple[str, str]:
        """The container and blob of a request whose SAS grants one of `permission` (r, w, d, ...), or
        that carries the bearer token of a principal whose roles grant one of their data actions."""
        container, blob = request.path_params["container"], request.path_params.get("blob", "")
        try:
            if blob:  # a container's own request names no blob
                self.store.blob_path(container, blob)
        except ValueError:
            raise BlobNotFound("The specified blob does not exist.") from None
        authorization = request.headers.get("authorization", "")
        if authorization.partition(" ")[0].lower() == "bearer":
            principal = self.principals.from_header(authorization)
            if principal is None:
                raise AuthenticationFailed(
                    "Server failed to authenticate the request: the bearer token is not one the storage "
                    "account accepts (the emulator's management token or an identity's token)."
                )
            scope = container_scope(container)
            if not any(principal.allowed(BLOB_DATA_ACTIONS[one], scope, data=True) for one in permission):
                raise AuthorizationPermissionMismatch(
                    "This request is not authorized to perform this operation using this permission."
                )
            return container, blob
        query = dict(request.query_params)
        if not any(self.store.sas_allows(container, blob, query, one) for one in permission):
            raise AuthenticationFailed(
                "Server failed to authenticate the request: the SAS is missing, invalid or expired."
            )
        return container, blob


def storage_error(error: AzureError) -> Response:
    """Azure Storage's XML error reply (an authentication failure is a 403 there)."""
    status = 403 if isinstance(error, AuthenticationFailed) else error.status
    details = "".join(
        f"<{name}>{_xml(value)}</{name}>" for name, value in getattr(error, "details", {}).items()
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{error.code}</Code><Message>{_xml(error.message)}</Message>{details}</Error>"
    )
    headers = {
        "x-ms-error-code": error.code,
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-version": STORAGE_VERSION,
        **error.headers,
    }
    return Response(body, status, headers=headers, media_type="application/xml")


def _metadata(request: Request) -> dict[str, str]:
    """The blob metadata a request sets (its `x-ms-meta-<name>` headers)."""
    return {
        key[len(META_PREFIX) :]: value
        for key, value in request.headers.items()
        if key.lower().startswith(META_PREFIX) and len(key) > len(META_PREFIX)
    }


def _range(text: str, size: int) -> tuple[int, int]:
    match = _RANGE.match(text.strip())
    if match is None or int(match.group(1)) >= size:
        raise InvalidRange(
            "The range specified is invalid for the current size of the resource.",
            headers={"Content-Range": f"bytes */{size}"},
        )
    start = int(match.group(1))
    end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
    if end < start:
        raise InvalidRange(
            "The range specified is invalid for the current size of the resource.",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def _common_headers(path: Any) -> dict[str, str]:
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return {
        "ETag": etag(path),
        "Last-Modified": email.utils.format_datetime(modified, usegmt=True),
        "x-ms-creation-time": email.utils.format_datetime(modified, usegmt=True),
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-version": STORAGE_VERSION,
        "x-ms-server-encrypted": "true",
    }


def _artifact_json(artifact: Artifact) -> dict[str, Any]:
    return {
        "artifactId": artifact.artifact_id,
        "origin": artifact.origin,
        "container": artifact.container,
        "path": artifact.path,
        "etag": None,
        "createdTime": None,
        "dataPath": None,
        "tags": {},
    }


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
