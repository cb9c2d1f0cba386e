"""Long-running operations as Azure Resource Manager reports them.

An operation starts InProgress and ends Succeeded or Failed (with the `AzureError` it failed with).
While it runs, an operation on a resource reports what happens to it (Creating, Updating, Deleting)
and how far along it is (`percent_complete`, from the duration the timing profile expects). The
HTTP layer exposes each as an Azure-AsyncOperation status resource and a Location result.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from rollout.emulator.errors import AzureError

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
MAX_KEPT = 2000


@dataclass
class Operation:
    id: str
    status: str
    start_time: float
    end_time: float | None = None
    error: AzureError | None = None
    action: str | None = None  # "Creating", "Updating" or "Deleting" a resource
    expected_seconds: float = 0.0

    @property
    def done(self) -> bool:
        return self.status != IN_PROGRESS

    @property
    def reported_status(self) -> str:
        """The status the operation-status resource shows: the action while running, else the outcome."""
        return self.action if not self.done and self.action else self.status

    def percent_complete(self, now: float | None = None) -> float:
        """100 once done; while running, the share of the expected duration elapsed (at most 99)."""
        if self.done:
            return 100.0
        if self.expected_seconds <= 0:
            return 0.0
        elapsed = (time.time() if now is None else now) - self.start_time
        return round(min(99.0, max(0.0, 100.0 * elapsed / self.expected_seconds)), 1)


class Operations:
    """The operations of one server, newest kept when old finished ones are dropped."""

    def __init__(self) -> None:
        self._operations: OrderedDict[str, Operation] = OrderedDict()

    def start(self, action: str | None = None, expected_seconds: float = 0.0) -> Operation:
        operation = Operation(
            id=str(uuid.uuid4()),
            status=IN_PROGRESS,
            start_time=time.time(),
            action=action,
            expected_seconds=expected_seconds,
        )
        self._operations[operation.id] = operation
        self._forget_old()
        return operation

    def get(self, operation_id: str) -> Operation | None:
        return self._operations.get(operation_id)

    @staticmethod
    def succeed(operation: Operation) -> None:
        if not operation.done:
            operation.status = SUCCEEDED
            operation.end_time = time.time()

    @staticmethod
    def fail(operation: Operation, error: AzureError) -> None:
        if not operation.done:
            operation.status = FAILED
            operation.error = error
            operation.end_time = time.time()

    def _forget_old(self) -> None:
        while len(self._operations) > MAX_KEPT:
            oldest_id, oldest = next(iter(self._operations.items()))
            if not oldest.done:
                self._operations.move_to_end(oldest_id)
                break
            del self._operations[oldest_id]
