"""A rollback's split, applied until it reads back: after a takeover, no write of the old holder's
may land on top of it.

Once the lock is taken over and its wait is over (`rollout.release.lock.hold`), the old holder
sends nothing more, but a write it sent before may still be an operation pending on the endpoint.
So: wait until no operation is pending, apply the split (mirror off), read it back, and apply it
again if something else landed meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from rollout.azureml.endpoints import EndpointBusy
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from rollout.release.lock import HeldLock

APPLY_ATTEMPTS = 5
BUSY_WAIT_SECONDS = 600.0  # an endpoint update takes a minute or two on Azure


class Endpoint(Protocol):
    """The endpoint as the rollback sees it (the MLClient's, or a test's in-memory one)."""

    name: str

    def busy(self) -> bool:
        """Whether an operation is pending on it (provisioning state Creating or Updating)."""
        ...

    def split(self) -> tuple[dict[str, int], dict[str, int]]:
        """Its live and mirrored traffic, without zero entries."""
        ...

    def put_split(self, traffic: dict[str, int]) -> None:
        """Read it, set `traffic` and mirror nothing, write it; EndpointBusy when refused because
        another operation is pending."""
        ...


def apply_until_read_back(endpoint: Endpoint, traffic: dict[str, int], held: HeldLock) -> None:
    """Put `traffic` (mirror off) on the endpoint and read it back, again until it holds."""
    clock = held.clock
    seen: tuple[dict[str, int], dict[str, int]] | None = None
    for _ in range(APPLY_ATTEMPTS):
        waited = 0.0
        while endpoint.busy():
            if waited >= BUSY_WAIT_SECONDS:
                raise UserError(f"endpoint {endpoint.name}: an operation has been pending for {waited:.0f} s")
            clock.sleep(held.timing.poll)
            waited += held.timing.poll
        held.check()
        try:
            endpoint.put_split(traffic)
        except EndpointBusy:
            continue
        seen = endpoint.split()
        if seen == (traffic, {}):
            return
    raise UserError(
        f"endpoint {endpoint.name}: the rollback's traffic {traffic} did not hold after "
        f"{APPLY_ATTEMPTS} attempts (last read: {seen})"
    )
