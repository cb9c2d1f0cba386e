"""The release lock of an endpoint as a lease on a blob: a compare-and-swap Azure Storage keeps.

The lock is the blob `locks/<endpoint>.lock` in the container of the workspace's default datastore
(`ml_client.datastores.get_default()`), or in a container the caller names. Acquire, renew, release
and break are Azure Storage's own atomic lease actions, sent by azure-storage-blob's
`BlobLeaseClient` with the target's credential (an Entra ID token for `https://storage.azure.com`:
the identity needs a data role such as Storage Blob Data Contributor on the container). A lease is
finite (15 to 60 s) and renewed while it is needed, so a dead holder's lock frees itself.

Who holds the lock is blob metadata (`holder`, `until`, `host`, `pid`, `doing`, the GitHub `run`)
written with the lease id,
so only the holder can write it. A forced takeover breaks the lease at once (break period 0) and
acquires it: the old holder's next renew or release is refused, and it learns it no longer holds
the lock. `rollout.release.lock` holds this lock for the release steps.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psutil
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobClient, BlobLeaseClient, BlobServiceClient

from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from rollout.azureml.targets import Target

LOCK_FOLDER = "locks"
HOLDER_KEY = "holder"
UNTIL_KEY = "until"
HOST_KEY = "host"
PID_KEY = "pid"
DOING_KEY = "doing"
RUN_KEY = "run"  # the GitHub run of the holder (GITHUB_RUN_ID), left out outside GitHub
MIN_SECONDS, MAX_SECONDS = 15, 60
HELD_STATES = ("leased", "breaking")
# Azure Storage's codes for a lease this client no longer holds
_LOST = {
    "LeaseIdMismatchWithLeaseOperation",
    "LeaseIsBrokenAndCannotBeRenewed",
    "LeaseNotPresentWithLeaseOperation",
    "LeaseIdMismatchWithBlobOperation",
    "LeaseIdMissing",
    "LeaseLost",
}
_EXISTS = {"BlobAlreadyExists", "LeaseIdMissing"}  # an empty lock blob created by someone else


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, until when their lease runs unless renewed (ISO 8601, UTC), and the host
    and process that hold it."""

    name: str
    until: str | None = None
    host: str | None = None
    pid: int | None = None
    doing: str | None = None  # what the holder holds it for ("the rollback", "stage canary")
    run: str | None = None  # the GitHub run the holder belongs to (GITHUB_RUN_ID), if any

    def runs_here(self) -> bool:
        """Whether the holder is a process of this host that is still running."""
        return self.host == socket.gethostname() and self.pid is not None and psutil.pid_exists(self.pid)

    def gone_from_here(self) -> bool:
        """Whether the holder was a process of this host that no longer runs (its lease only
        waits to run out)."""
        return self.host == socket.gethostname() and self.pid is not None and not psutil.pid_exists(self.pid)


class LeaseHeld(UserError):
    """Someone else holds the lock (Azure Storage's `LeaseAlreadyPresent`)."""

    def __init__(self, endpoint: str, holder: Holder | None) -> None:
        super().__init__(held_message(endpoint, holder))
        self.holder = holder


class LeaseLost(UserError):
    """This handle no longer holds the lock: broken, taken over, or run out and taken."""

    def __init__(self, endpoint: str, holder: Holder | None) -> None:
        super().__init__(lost_message(endpoint, holder))
        self.holder = holder


def lock_blob_name(endpoint: str) -> str:
    """The blob of an endpoint's release lock."""
    return f"{LOCK_FOLDER}/{endpoint}.lock"


def default_holder() -> str:
    """This process as a holder: the GitHub run when there is one, else user@host, and the pid."""
    run = os.environ.get("GITHUB_RUN_ID")
    if run:
        repository = os.environ.get("GITHUB_REPOSITORY", "")
        return f"GitHub run {run} of {repository}".strip() + f" (pid {os.getpid()})"
    return f"{getpass.getuser()}@{socket.gethostname()} (pid {os.getpid()})"


def held_message(endpoint: str, holder: Holder | None) -> str:
    """The one line that tells who holds the lock and how to take it over."""
    who = holder.name if holder else "another release"
    until = f" until {holder.until}" if holder and holder.until else ""
    return f"the release lock of endpoint {endpoint} is held by {who}{until}; `--force-lock` takes it over"


def lost_message(endpoint: str, holder: Holder | None) -> str:
    """The one line that tells a holder it lost the lock (taken over, or expired and taken)."""
    how = f"taken over by {holder.name}" if holder else "broken or taken over"
    return (
        f"the release lock of endpoint {endpoint} was {how}: this release no longer holds it "
        "and must stop writing to the endpoint"
    )


def until_text(seconds: int, now: dt.datetime | None = None) -> str:
    """When a lease of `seconds` taken `now` runs out, as ISO 8601 UTC to the second."""
    start = now or dt.datetime.now(dt.UTC)
    return (start + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_duration(seconds: int) -> int:
    """A finite lease duration Azure Storage accepts (15 to 60 s)."""
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise UserError(f"a release lock's lease lasts {MIN_SECONDS} to {MAX_SECONDS} s, not {seconds}")
    return seconds


@dataclass(frozen=True)
class LockPlace:
    """Where the lock blobs are: a storage account's blob service URL and a container; each
    defaults to the workspace's default datastore's."""

    account_url: str | None = None
    container: str | None = None


def lock_blob(target: Target, ml: MLClient, endpoint: str, place: LockPlace) -> BlobClient:
    """The lock blob of `endpoint`, in the default datastore's container of the target's workspace
    (or the account and container `place` names), reached with the target's credential."""
    account_url, container = place.account_url, place.container
    if account_url is None or container is None:
        from azure.ai.ml.entities import AzureBlobDatastore

        store = ml.datastores.get_default()
        if not isinstance(store, AzureBlobDatastore):
            raise UserError(
                f"the workspace's default datastore {store.name} is not Azure Blob storage: "
                "the release lock needs a blob container (name one in the plan's `lock`)"
            )
        account_url = account_url or target.blob_account_url(str(store.account_name), str(store.endpoint))
        container = container or str(store.container_name)
    service = BlobServiceClient(
        account_url, credential=target.credential(), connection_verify=target.ca_file() or True
    )
    return service.get_blob_client(container, lock_blob_name(endpoint))


@dataclass
class LeaseLock:
    """One holder's handle on an endpoint's release lock (a fresh lease id per handle)."""

    blob: BlobClient
    endpoint: str
    name: str = field(default_factory=default_holder)
    doing: str = ""
    lease: BlobLeaseClient = field(init=False)
    duration: int = field(init=False, default=MAX_SECONDS)

    def __post_init__(self) -> None:
        self.lease = _lease_client(self.blob)

    @classmethod
    def open(
        cls, target: Target, endpoint: str, *, place: LockPlace | None = None, doing: str = ""
    ) -> LeaseLock:
        """This process's handle on the lock of `endpoint`, in the target's default datastore (or
        where `place` says), taken for `doing`."""
        blob = lock_blob(target, target.ml_client(), endpoint, place or LockPlace())
        return cls(blob, endpoint, default_holder(), doing)

    @property
    def lease_id(self) -> str:
        return str(self.lease.id)

    def acquire(self, duration_seconds: int = MAX_SECONDS) -> None:
        """Take the lock for `duration_seconds` (creating its empty blob first if there is none);
        LeaseHeld, naming the holder, if someone holds it."""
        self.duration = check_duration(duration_seconds)
        self._ensure_blob()
        try:
            with self._translated("take"):
                self.lease.acquire(lease_duration=self.duration)
        except _Refused as refused:
            if refused.code != "LeaseAlreadyPresent":
                raise UserError(refused.line) from None
            raise LeaseHeld(self.endpoint, self.holder()) from None
        self._record()

    def renew(self) -> None:
        """Renew the lease for its duration; LeaseLost if this handle no longer holds it."""
        self._holding("renew", self.lease.renew)
        self._record()

    def release(self) -> None:
        """Give the lock up (its holder metadata cleared first); LeaseLost if it was taken over."""
        self._holding("release", lambda: self.blob.set_blob_metadata({}, lease=self.lease))
        self._holding("release", self.lease.release)

    def break_now(self) -> None:
        """Break whatever lease the lock has, at once (break period 0); nothing if it is free."""
        try:
            with self._translated("break"):
                _lease_client(self.blob).break_lease(lease_break_period=0)
        except _Refused as refused:
            if refused.code not in ("LeaseNotPresentWithLeaseOperation", "BlobNotFound"):
                raise UserError(refused.line) from None

    def take_over(self, duration_seconds: int = MAX_SECONDS) -> Holder | None:
        """The forced takeover: break the lease at once, then acquire it; who held it before (None
        when it was free)."""
        self._ensure_blob()
        before = self.holder()
        self.break_now()
        self.acquire(duration_seconds)
        return before

    def holder(self) -> Holder | None:
        """Who holds the lock now (None when it is free or its blob does not exist)."""
        try:
            with self._translated("read"):
                properties = self.blob.get_blob_properties()
        except _Refused as refused:
            raise UserError(refused.line) from None
        except ResourceNotFoundError:
            return None
        if properties.lease.state not in HELD_STATES:
            return None
        metadata = properties.metadata or {}
        pid = metadata.get(PID_KEY, "")
        return Holder(
            metadata.get(HOLDER_KEY) or "an unnamed holder",
            metadata.get(UNTIL_KEY),
            metadata.get(HOST_KEY),
            int(pid) if pid.isdigit() else None,
            metadata.get(DOING_KEY),
            metadata.get(RUN_KEY) or None,
        )

    # -------------------------------------------------------------------------------------------

    def _ensure_blob(self) -> None:
        """The lock's empty blob, created if missing (another holder may create it first)."""
        try:
            with self._translated("create"):
                self.blob.upload_blob(b"", overwrite=False)
        except _Refused as refused:
            if refused.code not in _EXISTS:
                raise UserError(refused.line) from None

    def _record(self) -> None:
        """Write who holds the lock and until when, with the lease id (only the holder can)."""
        metadata = {
            HOLDER_KEY: self.name,
            UNTIL_KEY: until_text(self.duration),
            HOST_KEY: socket.gethostname(),
            PID_KEY: str(os.getpid()),
            DOING_KEY: self.doing,
        }
        run = os.environ.get("GITHUB_RUN_ID")
        if run:
            metadata[RUN_KEY] = run
        self._holding("record", lambda: self.blob.set_blob_metadata(metadata, lease=self.lease))

    def _holding(self, action: str, call: Callable[[], object]) -> None:
        """Run a call that needs this handle's lease; LeaseLost if it no longer holds it."""
        try:
            with self._translated(action):
                call()
        except _Refused as refused:
            if refused.code in _LOST:
                raise LeaseLost(self.endpoint, self.holder()) from None
            raise UserError(refused.line) from None

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Azure Storage's refusals as `_Refused` (its code and one line); a missing blob passes."""
        try:
            yield
        except ResourceNotFoundError as error:
            if action == "read":
                raise
            raise _Refused(_code(error), self._line(action, error)) from None
        except ClientAuthenticationError as error:
            raise _Refused(
                _code(error),
                f"cannot {action} the release lock of endpoint {self.endpoint} at {self.blob.url}: "
                f"{_code(error)} (the identity needs a data role such as Storage Blob Data Contributor "
                f"on container {self.blob.container_name})",
            ) from None
        except HttpResponseError as error:
            raise _Refused(_code(error), self._line(action, error)) from None
        except AzureError as error:  # no answer at all: the network, a timeout
            raise _Refused(
                "", f"cannot {action} the release lock of endpoint {self.endpoint}: {error.message}"
            ) from None

    def _line(self, action: str, error: HttpResponseError) -> str:
        return (
            f"cannot {action} the release lock of endpoint {self.endpoint}: "
            f"{error.status_code} {_code(error)}"
        )


class _Refused(Exception):
    """Azure Storage refused a lock request: its error code, and the line to tell the user."""

    def __init__(self, code: str, line: str) -> None:
        super().__init__(line)
        self.code = code
        self.line = line


def _lease_client(blob: BlobClient) -> BlobLeaseClient:
    """A lease client with a fresh lease id (azure-storage-blob's stub types its argument too narrowly)."""
    client: Any = blob
    return BlobLeaseClient(client)


def _code(error: HttpResponseError) -> str:
    code = getattr(error, "error_code", None)
    return str(getattr(code, "value", code) or "")
