"""The leases of the emulator's blobs, by container and blob (rules in blob_leases, no HTTP).

Each action, and each blob write or delete, runs whole under one lock: the lease is read, checked,
changed and the blob written (or deleted) before any other request sees it, the compare-and-swap a
lease gives Azure Storage's clients. Leases outlive a restart, as Azure's do: the table is kept in a
JSON file beside the blobs (written atomically on each change), and its times are the clock's
(seconds since the epoch), so a lease that ran out while the emulator was down has expired.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from rollout.core.files import write_atomically
from rollout.emulator.control.blob_leases import Lease, LeaseProperties, LeaseRequest, LeaseState
from rollout.emulator.errors import BlobNotFound

Clock = Callable[[], float]
_Result = TypeVar("_Result")


@dataclass(frozen=True)
class LeaseOutcome:
    """What a Lease Blob reply tells: the lease's id (`x-ms-lease-id`) and, for a break, the whole
    seconds until it is broken (`x-ms-lease-time`)."""

    lease_id: str | None
    seconds_to_break: int


class LeaseTable:
    """Leases by (container, blob), in memory and, given a `path`, in that JSON file."""

    def __init__(self, path: Path | None = None, clock: Clock = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, Lease] = _load(path) if path is not None else {}

    def lease(self, container: str, blob: str) -> Lease:
        """A blob's lease as last changed (an available one when it has none)."""
        with self._lock:
            return self._leases.get(_key(container, blob), Lease())

    def act(
        self, container: str, blob: str, request: LeaseRequest, exists: Callable[[], bool]
    ) -> LeaseOutcome:
        """Apply a Lease Blob request to an existing blob (`exists`); what its reply tells."""
        with self._lock:
            if not exists():
                raise BlobNotFound("The specified blob does not exist.")
            key = _key(container, blob)
            now = self._clock()
            lease = request.apply(self._leases.get(key, Lease()), now)
            self._store(key, lease)
            return LeaseOutcome(lease.lease_id, lease.seconds_to_break(now))

    def read(self, container: str, blob: str, lease_id: str | None) -> LeaseProperties:
        """Check a read (naming `lease_id`, or none); the lease's properties to show."""
        now = self._clock()
        lease = self.lease(container, blob)
        lease.check_read(now, lease_id)
        return lease.properties(now)

    def write(self, container: str, blob: str, lease_id: str | None, write: Callable[[], _Result]) -> _Result:
        """Run `write` (of the blob) if its lease allows it; an expired or broken lease is forgotten."""
        return self._guarded(_key(container, blob), lease_id, write, deleting=False)

    def delete(
        self, container: str, blob: str, lease_id: str | None, delete: Callable[[], _Result]
    ) -> _Result:
        """Run `delete` (of the blob) if its lease allows it; the lease goes with the blob."""
        return self._guarded(_key(container, blob), lease_id, delete, deleting=True)

    def _guarded(
        self, key: str, lease_id: str | None, change: Callable[[], _Result], *, deleting: bool
    ) -> _Result:
        with self._lock:
            now = self._clock()
            lease = self._leases.get(key, Lease())
            lease.check_write(now, lease_id)
            result = change()
            self._store(key, Lease() if deleting else lease.after_write(now))
            return result

    def _store(self, key: str, lease: Lease) -> None:
        if self._leases.get(key, Lease()) == lease:
            return
        if lease.phase is LeaseState.AVAILABLE:
            self._leases.pop(key, None)
        else:
            self._leases[key] = lease
        if self._path is not None:
            leases = {name: _lease_json(kept) for name, kept in sorted(self._leases.items())}
            write_atomically(self._path, json.dumps({"leases": leases}, indent=1).encode())


def _key(container: str, blob: str) -> str:
    return f"{container}/{blob}"


def _lease_json(lease: Lease) -> dict[str, Any]:
    return {**asdict(lease), "phase": lease.phase.value}


def _load(path: Path) -> dict[str, Lease]:
    if not path.is_file():
        return {}
    kept = json.loads(path.read_text())["leases"]
    return {key: Lease(**{**fields, "phase": LeaseState(fields["phase"])}) for key, fields in kept.items()}
