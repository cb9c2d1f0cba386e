"""Writes sent only while the release lock is known to be held: a fence in the MLClient's pipeline.

A lease on the lock's blob does not fence the endpoint: Azure Resource Manager takes a PUT from
anyone with the role. So every write request (PUT, PATCH, DELETE) that a lock holder's thread
sends through an `MLClient` built with `request_hook` first asks the holder's `Fence`, and the
fence lets it go only within a short window after the lease was last confirmed (renewed) with
Azure Storage; it raises otherwise. The hook runs after azure-core's retry policy, so a retry is
fenced like the first attempt: no write is sent, nor sent again, past the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from azure.core.pipeline import PipelineRequest

WRITE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


class Fence(Protocol):
    def before_write(self, method: str, url: str) -> None:
        """Return when the write may be sent now; raise when it must not be sent."""
        ...


_ACTIVE: ContextVar[Fence | None] = ContextVar("rollout_write_fence", default=None)


def check_write(method: str, url: str) -> None:
    """Ask this thread's fence, if any, whether a request may be sent now."""
    fence = _ACTIVE.get()
    if fence is not None and method in WRITE_METHODS:
        fence.before_write(method, url)


def request_hook(request: PipelineRequest) -> None:
    """azure-core's `raw_request_hook`: the active fence's say on every write attempt."""
    check_write(request.http_request.method, request.http_request.url)


@contextmanager
def fenced(fence: Fence) -> Iterator[None]:
    """Every write this thread sends through a hooked MLClient asks `fence` first."""
    token = _ACTIVE.set(fence)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
