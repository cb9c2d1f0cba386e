"""Azure Storage's Lease Blob and Delete Blob on the emulator's blob service (HTTP only: the rules
are blob_leases', the table lease_table's), as azure-storage-blob's `BlobLeaseClient` and
`BlobClient.delete_blob(lease=...)` call them.

- `PUT {blob}?comp=lease` with `x-ms-lease-action: acquire | renew | change | release | break`,
  `x-ms-lease-duration` (15 to 60, or -1), `x-ms-proposed-lease-id`, `x-ms-lease-id`,
  `x-ms-lease-break-period` (0 to 60): 201 for acquire, 200 for renew, change and release, 202 for
  break; `ETag`, `Last-Modified`, `x-ms-lease-id` (acquire, renew, change) or `x-ms-lease-time`
  (break: seconds until the lease is broken). The blob must exist (404 `BlobNotFound`). The SAS must
  grant write (`w`); a break, write or delete (`d`), as Azure Storage allows since 2017-07-29.
- `DELETE {blob}` (`x-ms-lease-id` while leased): 202. The SAS must grant delete (`d`).
- `GET|HEAD {container}?restype=container` (Get Container Properties): 200, or 404
  `ContainerNotFound`; a read (`r`) is enough. A container exists once a blob was written to it.
Errors are Azure Storage's XML (`storage_error`), with `HeaderName`/`HeaderValue` for a header out
of range (400 `InvalidHeaderValue`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import uuid
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from rollout.core.files import sync_directory
from rollout.emulator.control.artifact_store import etag
from rollout.emulator.control.artifacts import STORAGE_VERSION, BlobApi, storage_error
from rollout.emulator.control.blob_leases import LeaseRequest, lease_id_header, seconds_header
from rollout.emulator.errors import AzureError, BlobNotFound, ContainerNotFound

_STATUS = {"acquire": 201, "renew": 200, "change": 200, "release": 200, "break": 202}


class BlobLeaseApi(BlobApi):
    """The blob service with leases: Lease Blob (`PUT ?comp=lease`) and Delete Blob besides upload and
    download."""

    async def put_blob(self, request: Request) -> Response:
        """Upload a block blob (201), or act on its lease (`comp=lease`: 201, 200 or 202)."""
        if request.query_params.get("comp") == "lease":
            return await self.lease_blob(request)
        return await super().put_blob(request)

    async def lease_blob(self, request: Request) -> Response:
        """Acquire (201), renew, change, release (200) or break (202) a blob's lease."""
        headers = request.headers
        action = headers.get("x-ms-lease-action", "").lower()
        try:
            container, blob = self._authorised(request, "wd" if action == "break" else "w")
            lease_request = LeaseRequest(
                action=action,
                duration=seconds_header(headers.get("x-ms-lease-duration"), "x-ms-lease-duration"),
                lease_id=lease_id_header(headers.get("x-ms-lease-id")),
                proposed_id=lease_id_header(headers.get("x-ms-proposed-lease-id"), "x-ms-proposed-lease-id"),
                break_period=seconds_header(
                    headers.get("x-ms-lease-break-period"), "x-ms-lease-break-period"
                ),
            )
            path = self.store.blob_path(container, blob)
            outcome = await asyncio.to_thread(self.leases.act, container, blob, lease_request, path.is_file)
            reply = _reply_headers(request, path)
        except AzureError as error:
            return storage_error(error)
        if action == "break":
            reply["x-ms-lease-time"] = str(outcome.seconds_to_break)
        elif action != "release" and outcome.lease_id is not None:
            reply["x-ms-lease-id"] = outcome.lease_id
        return Response(status_code=_STATUS[action], headers=reply)

    async def container_properties(self, request: Request) -> Response:
        """Get Container Properties: 200 with its ETag and lease state, 404 ContainerNotFound."""
        try:
            container, _ = self._authorised(request, "r")
            # without restype=container, Azure reads the path as a blob of the `$root` container
            if request.query_params.get("restype") != "container" or not self.store.container_exists(
                container
            ):
                raise ContainerNotFound("The specified container does not exist.")
        except AzureError as error:
            return storage_error(error)
        now = email.utils.format_datetime(dt.datetime.now(dt.UTC), usegmt=True)
        headers = {
            "ETag": f'"0x{uuid.uuid5(uuid.NAMESPACE_URL, container).hex[:15].upper()}"',
            "Last-Modified": now,
            "x-ms-lease-status": "unlocked",
            "x-ms-lease-state": "available",
            "x-ms-has-immutability-policy": "false",
            "x-ms-has-legal-hold": "false",
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-version": STORAGE_VERSION,
        }
        return Response(status_code=200, headers=headers)

    async def delete_blob(self, request: Request) -> Response:
        """Delete a blob (202), with its lease's id while it is leased."""
        try:
            container, blob, path = self._existing(request, "d")
            lease_id = lease_id_header(request.headers.get("x-ms-lease-id"))
            remove = functools.partial(self._remove, container, blob, path)
            await asyncio.to_thread(self.leases.delete, container, blob, lease_id, remove)
        except AzureError as error:
            return storage_error(error)
        headers = {**_request_headers(request), "x-ms-delete-type-permanent": "true"}
        return Response(status_code=202, headers=headers)

    def _remove(self, container: str, blob: str, path: Path) -> None:
        """The blob's file and its metadata."""
        try:
            path.unlink()
        except FileNotFoundError:
            raise BlobNotFound("The specified blob does not exist.") from None
        self.store.set_metadata(container, blob, {})
        sync_directory(path.parent)


def _reply_headers(request: Request, path: Path) -> dict[str, str]:
    """A lease reply's: the blob's ETag and Last-Modified (a lease changes neither)."""
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return {
        "ETag": etag(path),
        "Last-Modified": email.utils.format_datetime(modified, usegmt=True),
        **_request_headers(request),
    }


def _request_headers(request: Request) -> dict[str, str]:
    """Every reply's: its request id, the service version, and the client's request id echoed."""
    headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": STORAGE_VERSION}
    if client_request_id := request.headers.get("x-ms-client-request-id"):
        headers["x-ms-client-request-id"] = client_request_id
    return headers
