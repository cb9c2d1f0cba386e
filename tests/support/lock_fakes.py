"""In-memory stand-ins of the release lock's two resources, on a virtual clock: a blob's lease with
Azure Storage's rules, and an endpoint with Azure Resource Manager's (a write is an operation that
stays pending for a while; another write meanwhile is refused with 409).

They stand in for Azure in the enumerated schedules of tests/unit/release/test_lock_schedules.py;
the same rules are served by the emulator and driven through the real clients elsewhere."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from rollout.azureml import write_fence
from rollout.azureml.endpoints import EndpointBusy
from rollout.azureml.lease_lock import Holder, LeaseHeld, LeaseLost
from virtual_time import VirtualClock


@dataclass
class LeasedBlob:
    """One lock blob: who holds its lease (an id), until when, and whether it was broken."""

    clock: VirtualClock
    lease_id: str | None = None
    expires: float = 0.0
    broken: bool = False
    holder: Holder | None = None

    def held(self) -> bool:
        return self.lease_id is not None and not self.broken and self.clock.now() < self.expires


@dataclass
class FakeLease:
    """One handle on the blob's lease, as `rollout.azureml.lease_lock.LeaseLock` is one."""

    blob: LeasedBlob
    endpoint: str
    name: str
    host: str
    pid: int
    doing: str = ""
    lease_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    duration: int = 60
    unreachable: tuple[float, float] = (0.0, 0.0)  # from, until: Azure Storage cannot be reached

    def _reach(self) -> None:
        start, end = self.unreachable
        if start <= self.blob.clock.now() < end:
            raise ConnectionError(f"{self.name}: Azure Storage cannot be reached")

    def acquire(self, duration_seconds: int = 60) -> None:
        self._reach()
        blob = self.blob
        if blob.held() and blob.lease_id != self.lease_id:
            raise LeaseHeld(self.endpoint, blob.holder)
        self.duration = duration_seconds
        blob.lease_id, blob.broken = self.lease_id, False
        self._record()

    def renew(self) -> None:
        self._reach()
        blob = self.blob
        # Azure renews an expired lease too, unless someone else took it or it was broken
        if blob.lease_id != self.lease_id or blob.broken:
            raise LeaseLost(self.endpoint, self.blob.holder if blob.held() else None)
        self._record()

    def release(self) -> None:
        self._reach()
        if self.blob.lease_id != self.lease_id or self.blob.broken:
            raise LeaseLost(self.endpoint, None)
        self.blob.lease_id, self.blob.holder = None, None

    def take_over(self, duration_seconds: int = 60) -> Holder | None:
        before = self.blob.holder if self.blob.held() else None
        self.blob.broken = True
        self.acquire(duration_seconds)
        return before

    def holder(self) -> Holder | None:
        return self.blob.holder if self.blob.held() else None

    def _record(self) -> None:
        self.blob.expires = self.blob.clock.now() + self.duration
        self.blob.holder = Holder(self.name, f"t={self.blob.expires:g}", self.host, self.pid, self.doing)


@dataclass
class Arrival:
    """A write that reached the endpoint: when, from whom, and the traffic it set."""

    at: float
    who: str
    traffic: dict[str, int]


@dataclass
class FakeEndpoint:
    """An endpoint's traffic and mirror, and the operation a write leaves pending."""

    clock: VirtualClock
    name: str
    traffic: dict[str, int]
    mirror: dict[str, int] = field(default_factory=dict)
    pending_until: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)

    def busy(self) -> bool:
        return self.clock.now() < self.pending_until

    def split(self) -> tuple[dict[str, int], dict[str, int]]:
        live = {name: share for name, share in self.traffic.items() if share}
        return live, {name: share for name, share in self.mirror.items() if share}

    def put(self, who: str, traffic: dict[str, int], *, transit: float = 0.0, operation: float = 1.0) -> None:
        """A PUT of `traffic` (mirror off): fenced like the MLClient's, `transit` seconds on its way,
        then an operation pending for `operation` seconds; EndpointBusy if one is pending."""
        write_fence.check_write("PUT", f"https://management.example/onlineEndpoints/{self.name}")
        self.clock.sleep(transit)
        if self.busy():
            raise EndpointBusy(f"endpoint {self.name}: another operation is in progress")
        self.traffic, self.mirror = dict(traffic), {}
        self.pending_until = self.clock.now() + operation
        self.arrivals.append(Arrival(self.clock.now(), who, dict(traffic)))


@dataclass
class RollbackView:
    """The endpoint as the rollback's `apply_until_read_back` sees it."""

    endpoint: FakeEndpoint
    operation: float = 1.0

    @property
    def name(self) -> str:
        return self.endpoint.name

    def busy(self) -> bool:
        return self.endpoint.busy()

    def split(self) -> tuple[dict[str, int], dict[str, int]]:
        return self.endpoint.split()

    def put_split(self, traffic: dict[str, int]) -> None:
        others = dict.fromkeys(self.endpoint.traffic, 0)
        self.endpoint.put("R", others | traffic, operation=self.operation)
