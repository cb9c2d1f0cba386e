"""The release lock of an endpoint, held for a release step: a lease on a blob, renewed while the
step runs, that fences the step's own endpoint writes.

The lease (`rollout.azureml.lease_lock`) is Azure Storage's compare-and-swap: one holder at a time,
a dead holder's lease runs out by itself (15 to 60 s), a forced takeover breaks it at once. A lease
does not fence the endpoint (ARM takes a PUT from anyone with the role), so the holder fences
itself: every write it sends (`rollout.azureml.write_fence`) goes out only within `write_window`
seconds of a renewal that Azure Storage confirmed, and a retry likewise. A rollback that took the
lock from a holder still running therefore waits `write_window` plus `transit` seconds: whatever
the old holder sent has landed by then, and what it did not send it never will. The rollback then
waits for any operation still pending on the endpoint and applies its split until it reads it back
(`rollout.release.takeover`). Every step that takes the lock over waits the same way.

Taking the lock: a lease held by a process of this host that runs is refused at once; a holder
elsewhere is watched for a renewal (a holder that renews is alive: refused), and a lease that is
not renewed runs out and is taken, so the next release after a killed one waits at most a lease.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from rollout.azureml.lease_lock import MAX_SECONDS, Holder, LeaseHeld, LeaseLost
from rollout.azureml.sdk import Progress, quiet
from rollout.azureml.write_fence import fenced
from rollout.core.errors import UserError

WRITE_WINDOW_SECONDS = 5.0  # a write goes out at most this long after a confirmed renewal
TRANSIT_SECONDS = 5.0  # what a write sent inside the window may take to reach the endpoint
SAME_WORK_WAIT_SECONDS = 900.0  # a forced rollback waits this long for another rollback to finish


class Clock(Protocol):
    """Time as the lock sees it: the system's, or a test's virtual clock."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until `event` is set (True) or `seconds` have passed (False)."""
        ...

    def start(self, work: Callable[[], None], name: str) -> None:
        """Run `work` in a thread of its own (a daemon: it never keeps the process alive)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)

    def start(self, work: Callable[[], None], name: str) -> None:
        threading.Thread(target=work, name=name, daemon=True).start()


class Lease(Protocol):
    """An endpoint's lock as a lease (`LeaseLock`, or a test's in-memory one)."""

    endpoint: str

    def acquire(self, duration_seconds: int = MAX_SECONDS) -> None: ...

    def renew(self) -> None: ...

    def release(self) -> None: ...

    def take_over(self, duration_seconds: int = MAX_SECONDS) -> Holder | None: ...

    def holder(self) -> Holder | None: ...


@dataclass(frozen=True)
class LockTiming:
    """The lease's length and the fence's margins, in seconds, on a clock."""

    lease_seconds: int = 30
    write_window: float = WRITE_WINDOW_SECONDS
    transit: float = TRANSIT_SECONDS
    poll: float = 1.0
    clock: Clock = field(default_factory=SystemClock)

    @property
    def renew_every(self) -> float:
        return self.lease_seconds / 3

    @property
    def takeover_wait(self) -> float:
        """How long a takeover waits for what the old holder may still have in flight."""
        return self.write_window + self.transit


class LockLost(UserError):
    """Another process took the release lock while this one held it (a rollback with --force-lock)."""

    def __init__(self, endpoint: str, holder: Holder | None, doing: str) -> None:
        who = holder.name if holder else "someone (the lock is free now)"
        super().__init__(
            f"endpoint {endpoint}: the release lock was taken over by {who} (a rollback wins over a "
            f"running stage); {doing} stopped and changed nothing"
        )


class HeldLock:
    """The lock as this process holds it: renewed in the background, confirmed before writes."""

    def __init__(self, lease: Lease, timing: LockTiming, doing: str) -> None:
        self.lease, self.timing, self.clock, self.doing = lease, timing, timing.clock, doing
        self.took_over_from: Holder | None = None
        self._mutex = threading.RLock()
        self._confirmed_at = self.clock.now()
        self._lost: LockLost | None = None
        self._closed = threading.Event()

    @property
    def lost(self) -> bool:
        return self._lost is not None

    def check(self) -> None:
        """Renew the lease now; LockLost if it was taken over (the lease is the only truth)."""
        with self._mutex:
            if self._lost is not None:
                raise self._lost
            began = self.clock.now()
            try:
                self.lease.renew()
            except LeaseLost as lost:
                self._lost = LockLost(self.lease.endpoint, lost.holder, self.doing)
                raise self._lost from None
            self._confirmed_at = began

    def before_write(self, method: str, url: str) -> None:
        """The write fence: a write goes out only within the window after a confirmed renewal."""
        with self._mutex:
            if self._lost is not None:
                raise self._lost
            if self.clock.now() - self._confirmed_at >= self.timing.write_window:
                self.check()

    def wait_out_takeover(self, say: Progress = quiet) -> None:
        """After taking the lock from a running holder: wait until what it sent has landed."""
        if self.took_over_from is None:
            return
        wait = self.timing.takeover_wait
        say(
            f"took the release lock over from {self.took_over_from.name}: waiting {wait:.0f} s for "
            "any endpoint write it had started"
        )
        self.clock.sleep(wait)

    def start(self) -> None:
        """Renew the lease in the background until `close`."""
        self.clock.start(self._keep_renewing, f"release lock: {self.doing}")

    def close(self) -> None:
        """Stop renewing and give the lease up (unless it was lost); no renewal follows."""
        with self._mutex:
            self._closed.set()
            if self._lost is None:
                with suppress(Exception):  # a lease not given up runs out by itself
                    self.lease.release()

    def _keep_renewing(self) -> None:
        while not self.clock.wait(self._closed, self.timing.renew_every):
            with self._mutex:
                if self._closed.is_set():
                    return
                try:
                    self.check()
                except LockLost:
                    return  # the next check or write of the step raises it
                except Exception:  # Azure Storage did not answer: two more tries before the lease runs out
                    continue


def take(lease: Lease, timing: LockTiming, doing: str, force: bool, say: Progress) -> Holder | None:
    """Acquire the lease (take it over with `force`); who held it before a takeover, else None.

    A forced take of a lock held for the same thing (a rollback while another rollback runs) waits
    for the holder to finish instead: it is doing what the caller came to do.
    """
    if force:
        current = lease.holder()
        if current is None or current.doing != doing:
            return lease.take_over(timing.lease_seconds)
        where = f"the release lock of endpoint {lease.endpoint}"
        say(f"{current.name} holds {where} for {doing} too: waiting for it to finish")
        _acquire_when_free(lease, timing, SAME_WORK_WAIT_SECONDS, lambda _: False)
        return None
    first: list[Holder] = []

    def refuse(holder: Holder) -> bool:
        if not first or first[0].until is None:  # (a holder's metadata follows its lease at once)
            first[:] = [holder]
            if holder.until is not None and not holder.runs_here():
                say(_waiting_line(lease.endpoint, holder))
        return holder.runs_here() or holder.until != first[0].until  # alive here, or it renewed

    _acquire_when_free(lease, timing, MAX_SECONDS + timing.poll, refuse)
    return None


def _acquire_when_free(
    lease: Lease, timing: LockTiming, patience: float, refuse: Callable[[Holder], bool]
) -> None:
    """Acquire the lease once it is free, within `patience` seconds; LeaseHeld when `refuse` says
    the holder is not going away, or when patience runs out."""
    clock = timing.clock
    deadline = clock.now() + patience
    while True:
        try:
            lease.acquire(timing.lease_seconds)
            return
        except LeaseHeld as held:
            # holder None: it was released meanwhile; try again
            if held.holder is not None and (refuse(held.holder) or clock.now() >= deadline):
                raise
        clock.sleep(timing.poll)


def _waiting_line(endpoint: str, holder: Holder) -> str:
    why = (
        "whose process no longer runs: waiting for its lease to run out"
        if holder.gone_from_here()
        else "elsewhere: waiting to see whether it renews its lease (then it is refused) or lets it run out"
    )
    return f"the release lock of endpoint {endpoint} is held by {holder.name}, {why} (until {holder.until})"


@contextmanager
def hold(
    lease: Lease, doing: str, *, force: bool = False, timing: LockTiming | None = None, say: Progress = quiet
) -> Iterator[HeldLock]:
    """Hold the lease for a block: renewed in the background, fencing this thread's endpoint writes,
    released at the end (unless it was lost). After a takeover from a running holder the block
    starts once what that holder had sent has landed."""
    timing = timing or LockTiming()
    previous = take(lease, timing, doing, force, say)
    held = HeldLock(lease, timing, doing)
    if previous is not None and not previous.gone_from_here():
        held.took_over_from = previous
    held.start()
    try:
        held.wait_out_takeover(say)
        with fenced(held):
            yield held
    finally:
        held.close()
