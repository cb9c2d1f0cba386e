"""Blob leases as Azure Storage keeps them (rules, no HTTP): the "Lease Blob" operation's five
actions, the states a lease passes through, and what a lease allows the blob's readers and writers.

A lease is `available`, `leased` (for 15 to 60 seconds, or infinite), `expired` (a fixed lease whose
time ran out: unlocked, but its id still renews or releases it until the blob is written),
`breaking` (broken with a break period: still locked until the period ends) or `broken` (unlocked;
its id still releases it). Time is the clock's (seconds since the epoch), so expiry and the end of
a break period happen by themselves, and a `Lease` is a value: each action returns the next one.

What each action does in each state follows Azure Storage's REST reference ("Lease Blob": the
outcomes of lease operations by lease state) and the storage client library's lease tests, which
run against Azure itself (`Test/ClassLibraryCommon/Blob/LeaseTests.cs` of Azure/azure-storage-net):
- acquire: from available, expired or broken; while leased only under the lease's own id (a new
  duration); while breaking, under its own id `LeaseIsBreakingAndCannotBeAcquired`, else
  `LeaseAlreadyPresent`;
- renew: a leased or expired lease, by its id; broken or breaking, by its id,
  `LeaseIsBrokenAndCannotBeRenewed`; any other id, or no lease, `LeaseIdMismatchWithLeaseOperation`;
- change: a leased lease, by its id (or to the id it already has); no active lease (available,
  expired, broken) `LeaseNotPresentWithLeaseOperation`; breaking, by its id,
  `LeaseIsBreakingAndCannotBeChanged`; another id `LeaseIdMismatchWithLeaseOperation`;
- release: any lease that has an id, by that id (then available); else
  `LeaseIdMismatchWithLeaseOperation`;
- break: a fixed lease breaks when its time runs out or after the break period, whichever is
  sooner; an infinite one after the period (none given: at once); period 0 breaks at once; a
  breaking lease's period only shortens; breaking a broken lease changes nothing; no lease:
  `LeaseNotPresentWithLeaseOperation`.
Reads and writes: a locked lease (leased, breaking) refuses a write or delete without its id
(`LeaseIdMissing`) and any access naming another id (`LeaseIdMismatchWithBlobOperation`); a lease id
named when the lease is not active is `LeaseNotPresentWithBlobOperation`. A write forgets an
expired or broken lease (its id renews nothing any more).
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass, replace
from typing import TypeVar

from rollout.emulator.errors import (
    InvalidHeaderValue,
    LeaseAlreadyPresent,
    LeaseIdMismatchWithBlobOperation,
    LeaseIdMismatchWithLeaseOperation,
    LeaseIdMissing,
    LeaseIsBreakingAndCannotBeAcquired,
    LeaseIsBreakingAndCannotBeChanged,
    LeaseIsBrokenAndCannotBeRenewed,
    LeaseNotPresentWithBlobOperation,
    LeaseNotPresentWithLeaseOperation,
    MissingRequiredHeader,
)

INFINITE = -1
MIN_DURATION, MAX_DURATION = 15, 60
MAX_BREAK_PERIOD = 60

NO_LEASE = "There is currently no lease on the blob."
MISMATCH = "The lease ID specified did not match the lease ID for the blob."

_Value = TypeVar("_Value", int, str)


class LeaseState(enum.StrEnum):
    """`x-ms-lease-state`."""

    AVAILABLE = "available"
    LEASED = "leased"
    EXPIRED = "expired"
    BREAKING = "breaking"
    BROKEN = "broken"


LOCKED = (LeaseState.LEASED, LeaseState.BREAKING)


@dataclass(frozen=True)
class LeaseProperties:
    """A lease as a blob's properties show it at one moment."""

    state: LeaseState
    duration: int | None  # a leased lease's: seconds, or INFINITE

    def headers(self) -> dict[str, str]:
        """`x-ms-lease-state`, `x-ms-lease-status` and, while leased, `x-ms-lease-duration`."""
        headers = {
            "x-ms-lease-state": self.state.value,
            "x-ms-lease-status": "locked" if self.state in LOCKED else "unlocked",
        }
        if self.state is LeaseState.LEASED:
            headers["x-ms-lease-duration"] = "infinite" if self.duration == INFINITE else "fixed"
        return headers


@dataclass(frozen=True)
class Lease:
    """A blob's lease as its last action left it; `state(now)` is what it is at `now`."""

    phase: LeaseState = LeaseState.AVAILABLE  # available, leased, breaking or broken
    lease_id: str | None = None
    duration: int | None = None  # seconds, or INFINITE (leased only)
    expires_at: float | None = None  # a fixed lease's end
    breaks_at: float | None = None  # a breaking lease's end

    def state(self, now: float) -> LeaseState:
        if self.phase is LeaseState.LEASED and self.expires_at is not None and now >= self.expires_at:
            return LeaseState.EXPIRED
        if self.phase is LeaseState.BREAKING and self.breaks_at is not None and now >= self.breaks_at:
            return LeaseState.BROKEN
        return self.phase

    def properties(self, now: float) -> LeaseProperties:
        state = self.state(now)
        return LeaseProperties(state, self.duration if state is LeaseState.LEASED else None)

    # Lease actions -----------------------------------------------------------------------------

    def acquire(self, now: float, duration: int, proposed_id: str | None) -> Lease:
        """A lease of `duration` seconds (or INFINITE) under `proposed_id` (else a new id)."""
        if duration != INFINITE and not MIN_DURATION <= duration <= MAX_DURATION:
            raise InvalidHeaderValue("x-ms-lease-duration", str(duration))
        state = self.state(now)
        own = proposed_id is not None and self._has_id(proposed_id)
        if state is LeaseState.BREAKING and own:
            raise LeaseIsBreakingAndCannotBeAcquired(
                "The lease ID matched, but the lease is currently in breaking state and cannot be "
                "acquired until it is broken."
            )
        if state in LOCKED and not own:
            raise LeaseAlreadyPresent("There is already a lease present.")
        return _leased(proposed_id or str(uuid.uuid4()), duration, now)

    def renew(self, now: float, lease_id: str) -> Lease:
        """The same lease, its time counted again from `now`."""
        state = self.state(now)
        if state is LeaseState.AVAILABLE or not self._has_id(lease_id):
            raise LeaseIdMismatchWithLeaseOperation(MISMATCH)
        if state in (LeaseState.BREAKING, LeaseState.BROKEN):
            raise LeaseIsBrokenAndCannotBeRenewed(
                "The lease ID matched, but the lease has been broken explicitly and cannot be renewed."
            )
        assert self.lease_id is not None and self.duration is not None  # leased or expired
        return _leased(self.lease_id, self.duration, now)

    def change(self, now: float, lease_id: str, proposed_id: str) -> Lease:
        """The same lease under `proposed_id`."""
        state = self.state(now)
        if state is LeaseState.BREAKING:
            if self._has_id(lease_id):
                raise LeaseIsBreakingAndCannotBeChanged(
                    "The lease ID matched, but the lease is currently in breaking state and cannot be "
                    "changed."
                )
            raise LeaseIdMismatchWithLeaseOperation(MISMATCH)
        if state is not LeaseState.LEASED:
            raise LeaseNotPresentWithLeaseOperation(NO_LEASE)
        if not (self._has_id(lease_id) or self._has_id(proposed_id)):
            raise LeaseIdMismatchWithLeaseOperation(MISMATCH)
        return replace(self, lease_id=proposed_id)

    def release(self, now: float, lease_id: str) -> Lease:
        """No lease: another client may acquire one at once."""
        if self.state(now) is LeaseState.AVAILABLE or not self._has_id(lease_id):
            raise LeaseIdMismatchWithLeaseOperation(MISMATCH)
        return Lease()

    def break_lease(self, now: float, period: int | None) -> Lease:
        """The lease breaking: after `period` seconds (or, none given, when a fixed lease's time
        runs out; an infinite one at once), never later than the lease would have expired."""
        if period is not None and not 0 <= period <= MAX_BREAK_PERIOD:
            raise InvalidHeaderValue("x-ms-lease-break-period", str(period))
        state = self.state(now)
        if state is LeaseState.AVAILABLE:
            raise LeaseNotPresentWithLeaseOperation(NO_LEASE)
        proposed = None if period is None else now + period
        if state is LeaseState.LEASED:
            ends = _sooner(self.expires_at, proposed) if period is not None else self.expires_at
        elif state is LeaseState.BREAKING:
            ends = _sooner(self.breaks_at, proposed)
        else:  # expired or broken
            ends = None
        if ends is None or ends <= now:
            return Lease(LeaseState.BROKEN, self.lease_id)
        return Lease(LeaseState.BREAKING, self.lease_id, breaks_at=ends)

    def seconds_to_break(self, now: float) -> int:
        """`x-ms-lease-time`: whole seconds until a breaking lease is broken (0 once it is)."""
        if self.state(now) is not LeaseState.BREAKING or self.breaks_at is None:
            return 0
        return math.ceil(self.breaks_at - now)

    # The blob's reads and writes ---------------------------------------------------------------

    def check_write(self, now: float, lease_id: str | None) -> None:
        """Refuse a write or delete that the lease does not allow."""
        if self.state(now) in LOCKED and lease_id is None:
            raise LeaseIdMissing(
                "There is currently a lease on the blob and no lease ID was specified in the request."
            )
        self.check_read(now, lease_id)

    def check_read(self, now: float, lease_id: str | None) -> None:
        """Refuse a read naming a lease id that is not the blob's active lease."""
        if lease_id is None:
            return
        state = self.state(now)
        if state in LOCKED and not self._has_id(lease_id):
            raise LeaseIdMismatchWithBlobOperation(MISMATCH)
        if state not in LOCKED:
            raise LeaseNotPresentWithBlobOperation(
                NO_LEASE
                if state is LeaseState.AVAILABLE
                else "A lease ID was specified, but the lease for the blob has expired."
            )

    def after_write(self, now: float) -> Lease:
        """The lease once the blob is written: an expired or broken lease is forgotten."""
        return Lease() if self.state(now) in (LeaseState.EXPIRED, LeaseState.BROKEN) else self

    def _has_id(self, lease_id: str) -> bool:
        return self.lease_id is not None and self.lease_id.lower() == lease_id.lower()


@dataclass(frozen=True)
class LeaseRequest:
    """One Lease Blob request: its action and the headers it came with (parsed, not yet checked)."""

    action: str | None  # x-ms-lease-action
    duration: int | None = None  # x-ms-lease-duration
    lease_id: str | None = None  # x-ms-lease-id
    proposed_id: str | None = None  # x-ms-proposed-lease-id
    break_period: int | None = None  # x-ms-lease-break-period

    def apply(self, lease: Lease, now: float) -> Lease:
        """The lease after this request (or the error Azure Storage answers it with)."""
        action = _required(self.action or None, "x-ms-lease-action")
        match action.lower():
            case "acquire":
                return lease.acquire(now, _required(self.duration, "x-ms-lease-duration"), self.proposed_id)
            case "renew":
                return lease.renew(now, _required(self.lease_id, "x-ms-lease-id"))
            case "change":
                lease_id = _required(self.lease_id, "x-ms-lease-id")
                return lease.change(now, lease_id, _required(self.proposed_id, "x-ms-proposed-lease-id"))
            case "release":
                return lease.release(now, _required(self.lease_id, "x-ms-lease-id"))
            case "break":
                return lease.break_lease(now, self.break_period)
        raise InvalidHeaderValue("x-ms-lease-action", action)


def lease_id_header(value: str | None, header: str = "x-ms-lease-id") -> str | None:
    """A lease id from a header (a GUID, as Azure Storage requires), or None without one."""
    if value is None:
        return None
    try:
        uuid.UUID(value)
    except ValueError:
        raise InvalidHeaderValue(header, value) from None
    return value


def seconds_header(value: str | None, header: str) -> int | None:
    """A whole number of seconds from a header, or None without one."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidHeaderValue(header, value) from None


def _leased(lease_id: str, duration: int, now: float) -> Lease:
    expires_at = None if duration == INFINITE else now + duration
    return Lease(LeaseState.LEASED, lease_id, duration, expires_at=expires_at)


def _sooner(first: float | None, second: float | None) -> float | None:
    known = [moment for moment in (first, second) if moment is not None]
    return min(known) if known else None


def _required(value: _Value | None, header: str) -> _Value:
    if value is None:
        raise MissingRequiredHeader(
            f"An HTTP header that's mandatory for this request is not specified: {header}."
        )
    return value
