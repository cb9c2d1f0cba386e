"""Blob leases as Azure Storage keeps them: every action in every state, expiry and the end of a
break period by an injected clock, what a lease allows a blob's readers and writers, and the table
that applies them atomically and keeps them across a restart."""

from __future__ import annotations

import json
import uuid

import pytest

from races import race
from rollout.emulator import errors
from rollout.emulator.control.blob_leases import (
    INFINITE,
    Lease,
    LeaseRequest,
    LeaseState,
    lease_id_header,
    seconds_header,
)
from rollout.emulator.control.lease_table import LeaseTable

A, B, C = (str(uuid.uuid4()) for _ in range(3))
T0 = 1_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def leased(duration: int = INFINITE, lease_id: str = A) -> Lease:
    return Lease().acquire(T0, duration, lease_id)


def breaking(period: int = 10) -> Lease:
    return leased().break_lease(T0, period)


def broken() -> Lease:
    return leased().break_lease(T0, 0)


def expired() -> Lease:
    """A 15-second lease, looked at 20 seconds on."""
    return leased(15)


LATER = T0 + 20


# Acquire -------------------------------------------------------------------------------------------


def test_acquire_leases_a_blob_for_a_fixed_time_or_for_ever():
    fixed = Lease().acquire(T0, 15, A)
    assert (fixed.state(T0), fixed.lease_id, fixed.expires_at) == (LeaseState.LEASED, A, T0 + 15)
    assert fixed.state(T0 + 14.9) is LeaseState.LEASED
    assert fixed.state(T0 + 15) is LeaseState.EXPIRED
    forever = Lease().acquire(T0, INFINITE, A)
    assert forever.expires_at is None
    assert forever.state(T0 + 10**9) is LeaseState.LEASED
    assert Lease().acquire(T0, 60, A).expires_at == T0 + 60


def test_acquire_without_a_proposed_id_makes_one():
    lease = Lease().acquire(T0, INFINITE, None)
    assert lease.lease_id is not None and uuid.UUID(lease.lease_id)


@pytest.mark.parametrize("duration", [0, 1, 14, 61, -2, 3600])
def test_a_duration_outside_15_to_60_and_not_minus_one_is_an_invalid_header(duration):
    with pytest.raises(errors.InvalidHeaderValue) as raised:
        Lease().acquire(T0, duration, A)
    assert raised.value.status == 400
    assert raised.value.details == {"HeaderName": "x-ms-lease-duration", "HeaderValue": str(duration)}


def test_acquire_while_leased_by_another_id_or_none_is_refused():
    for proposed in (B, None):
        with pytest.raises(errors.LeaseAlreadyPresent) as raised:
            leased().acquire(T0 + 1, INFINITE, proposed)
        assert raised.value.status == 409


def test_acquire_again_under_the_same_id_keeps_the_lease_with_the_new_duration():
    again = leased(60).acquire(T0 + 5, 15, A.upper())  # lease ids compare as GUIDs: any case
    assert (again.lease_id.lower(), again.duration, again.expires_at) == (A, 15, T0 + 20)
    assert leased().acquire(T0, INFINITE, A) == leased()


def test_acquire_while_breaking_is_refused_until_broken():
    with pytest.raises(errors.LeaseAlreadyPresent):
        breaking(10).acquire(T0 + 5, 15, B)
    with pytest.raises(errors.LeaseIsBreakingAndCannotBeAcquired) as raised:
        breaking(10).acquire(T0 + 5, 15, A)
    assert raised.value.status == 409
    after = breaking(10).acquire(T0 + 10, 15, B)
    assert (after.state(T0 + 10), after.lease_id) == (LeaseState.LEASED, B)


def test_acquire_takes_an_expired_broken_or_released_lease():
    for lease, now in ((expired(), LATER), (broken(), T0), (leased().release(T0, A), T0)):
        for proposed in (A, B):
            taken = lease.acquire(now, 30, proposed)
            assert (taken.state(now), taken.lease_id) == (LeaseState.LEASED, proposed)


# Renew -----------------------------------------------------------------------------------------------


def test_renew_counts_a_fixed_lease_again_from_now():
    renewed = leased(15).renew(T0 + 10, A)
    assert (renewed.expires_at, renewed.state(T0 + 20)) == (T0 + 25, LeaseState.LEASED)
    assert leased().renew(T0 + 10, A) == leased()


def test_renew_brings_back_an_expired_lease_until_the_blob_is_written():
    renewed = expired().renew(LATER, A)
    assert (renewed.state(LATER), renewed.expires_at) == (LeaseState.LEASED, LATER + 15)
    written = expired().after_write(LATER)
    with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
        written.renew(LATER, A)


def test_renew_with_another_id_or_without_a_lease_is_a_mismatch():
    cases = [(leased(), T0), (expired(), LATER), (Lease(), T0), (leased().release(T0, A), T0)]
    for lease, now in cases:
        with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation) as raised:
            lease.renew(now, B)
        assert raised.value.status == 409
    with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
        leased().release(T0, A).renew(T0, A)  # released: its id is gone


def test_renew_after_a_break_is_refused():
    for lease in (breaking(), broken()):
        with pytest.raises(errors.LeaseIsBrokenAndCannotBeRenewed) as raised:
            lease.renew(T0 + 1, A)
        assert raised.value.status == 409
        with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
            lease.renew(T0 + 1, B)


# Change ----------------------------------------------------------------------------------------------


def test_change_gives_the_lease_a_new_id_and_keeps_its_time():
    changed = leased(30).change(T0 + 5, A, B)
    assert (changed.lease_id, changed.expires_at, changed.duration) == (B, T0 + 30, 30)
    assert changed.change(T0 + 6, C, B) == changed  # to the id it already has: from any id


def test_change_with_another_id_is_a_mismatch():
    with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
        leased().change(T0, B, C)
    with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
        breaking().change(T0, B, C)


def test_change_needs_an_active_lease():
    for lease, now in ((Lease(), T0), (expired(), LATER), (broken(), T0)):
        with pytest.raises(errors.LeaseNotPresentWithLeaseOperation) as raised:
            lease.change(now, A, B)
        assert raised.value.status == 409
    with pytest.raises(errors.LeaseIsBreakingAndCannotBeChanged):
        breaking().change(T0 + 1, A, B)


# Release ---------------------------------------------------------------------------------------------


def test_release_frees_the_blob_from_any_state_that_has_the_id():
    for lease, now in ((leased(), T0), (expired(), LATER), (breaking(), T0 + 1), (broken(), T0)):
        assert lease.release(now, A) == Lease()
        assert lease.release(now, A).state(now) is LeaseState.AVAILABLE


def test_release_with_another_id_or_without_a_lease_is_a_mismatch():
    for lease in (leased(), breaking(), broken(), Lease()):
        with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
            lease.release(T0, B)
    with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
        Lease().release(T0, A)


# Break -----------------------------------------------------------------------------------------------


def test_break_with_period_0_breaks_at_once():
    for lease in (leased(), leased(60), breaking(30)):
        done = lease.break_lease(T0 + 1, 0)
        assert (done.state(T0 + 1), done.lease_id, done.seconds_to_break(T0 + 1)) == (
            LeaseState.BROKEN,
            A,
            0,
        )


def test_break_with_a_period_is_breaking_until_it_ends():
    lease = leased().break_lease(T0, 10)
    assert lease.state(T0 + 9.9) is LeaseState.BREAKING
    assert lease.seconds_to_break(T0) == 10
    assert lease.seconds_to_break(T0 + 2.5) == 8
    assert lease.state(T0 + 10) is LeaseState.BROKEN
    assert lease.seconds_to_break(T0 + 10) == 0


def test_break_of_an_infinite_lease_without_a_period_is_at_once():
    assert leased().break_lease(T0, None).state(T0) is LeaseState.BROKEN


def test_a_fixed_lease_breaks_no_later_than_it_would_have_expired():
    assert leased(30).break_lease(T0 + 10, None).seconds_to_break(T0 + 10) == 20
    assert leased(30).break_lease(T0 + 10, 60).seconds_to_break(T0 + 10) == 20
    assert leased(30).break_lease(T0 + 10, 5).seconds_to_break(T0 + 10) == 5


def test_breaking_again_only_shortens_the_period():
    assert breaking(30).break_lease(T0 + 1, 60).seconds_to_break(T0 + 1) == 29
    assert breaking(30).break_lease(T0 + 1, 5).seconds_to_break(T0 + 1) == 5
    assert breaking(30).break_lease(T0 + 1, None).seconds_to_break(T0 + 1) == 29


def test_break_of_a_broken_or_expired_lease_leaves_it_broken():
    assert broken().break_lease(T0 + 1, 30) == broken()
    assert expired().break_lease(LATER, 30).state(LATER) is LeaseState.BROKEN


def test_break_without_a_lease_is_refused():
    for lease in (Lease(), leased().release(T0, A)):
        with pytest.raises(errors.LeaseNotPresentWithLeaseOperation):
            lease.break_lease(T0, 0)


@pytest.mark.parametrize("period", [-1, 61])
def test_a_break_period_outside_0_to_60_is_an_invalid_header(period):
    with pytest.raises(errors.InvalidHeaderValue) as raised:
        leased().break_lease(T0, period)
    assert raised.value.details["HeaderName"] == "x-ms-lease-break-period"


def test_break_then_acquire_is_a_forced_takeover():
    taken = leased(60, A).break_lease(T0 + 1, 0).acquire(T0 + 1, 15, B)
    assert (taken.lease_id, taken.state(T0 + 1)) == (B, LeaseState.LEASED)
    with pytest.raises(errors.LeaseIdMismatchWithLeaseOperation):
        taken.renew(T0 + 2, A)


# Reads and writes of the blob -------------------------------------------------------------------


def test_a_locked_lease_guards_writes_and_deletes():
    for lease in (leased(), breaking()):
        lease.check_write(T0 + 1, A)
        with pytest.raises(errors.LeaseIdMissing) as missing:
            lease.check_write(T0 + 1, None)
        assert missing.value.status == 412
        with pytest.raises(errors.LeaseIdMismatchWithBlobOperation) as other:
            lease.check_write(T0 + 1, B)
        assert other.value.status == 412


def test_a_write_naming_a_lease_the_blob_has_not_is_refused():
    for lease, now in ((Lease(), T0), (expired(), LATER), (broken(), T0)):
        lease.check_write(now, None)
        with pytest.raises(errors.LeaseNotPresentWithBlobOperation) as raised:
            lease.check_write(now, A)
        assert raised.value.status == 412


def test_reads_need_no_lease_but_may_not_name_another():
    leased().check_read(T0, None)
    leased().check_read(T0, A)
    with pytest.raises(errors.LeaseIdMismatchWithBlobOperation):
        leased().check_read(T0, B)
    with pytest.raises(errors.LeaseNotPresentWithBlobOperation):
        Lease().check_read(T0, A)


def test_a_write_forgets_an_expired_or_broken_lease_only():
    assert expired().after_write(LATER) == Lease()
    assert broken().after_write(T0) == Lease()
    assert leased().after_write(T0) == leased()
    assert breaking().after_write(T0) == breaking()


def test_the_blob_properties_show_the_lease():
    def headers(lease: Lease, now: float = T0) -> dict[str, str]:
        return lease.properties(now).headers()

    assert headers(Lease()) == {"x-ms-lease-state": "available", "x-ms-lease-status": "unlocked"}
    assert headers(leased()) == {
        "x-ms-lease-state": "leased",
        "x-ms-lease-status": "locked",
        "x-ms-lease-duration": "infinite",
    }
    assert headers(leased(30))["x-ms-lease-duration"] == "fixed"
    assert headers(expired(), LATER) == {"x-ms-lease-state": "expired", "x-ms-lease-status": "unlocked"}
    assert headers(breaking()) == {"x-ms-lease-state": "breaking", "x-ms-lease-status": "locked"}
    assert headers(broken()) == {"x-ms-lease-state": "broken", "x-ms-lease-status": "unlocked"}


# Requests (as their headers came) --------------------------------------------------------------------


def test_a_request_applies_its_action_whatever_its_case():
    lease = LeaseRequest("Acquire", duration=15, proposed_id=A).apply(Lease(), T0)
    assert lease.lease_id == A
    lease = LeaseRequest("change", lease_id=A, proposed_id=B).apply(lease, T0)
    assert LeaseRequest("RENEW", lease_id=B).apply(lease, T0 + 10).expires_at == T0 + 25
    assert LeaseRequest("break", break_period=0).apply(lease, T0).state(T0) is LeaseState.BROKEN
    assert LeaseRequest("release", lease_id=B).apply(lease, T0) == Lease()


@pytest.mark.parametrize(
    "request_",
    [
        LeaseRequest(None),
        LeaseRequest("acquire", proposed_id=A),
        LeaseRequest("renew"),
        LeaseRequest("change", lease_id=A),
        LeaseRequest("change", proposed_id=B),
        LeaseRequest("release"),
    ],
)
def test_a_request_without_a_header_its_action_needs_is_refused(request_):
    with pytest.raises(errors.MissingRequiredHeader):
        request_.apply(leased(), T0)


def test_an_unknown_action_or_malformed_header_is_an_invalid_header():
    with pytest.raises(errors.InvalidHeaderValue):
        LeaseRequest("steal").apply(leased(), T0)
    with pytest.raises(errors.InvalidHeaderValue) as raised:
        lease_id_header("not-a-guid", "x-ms-proposed-lease-id")
    assert raised.value.details == {"HeaderName": "x-ms-proposed-lease-id", "HeaderValue": "not-a-guid"}
    with pytest.raises(errors.InvalidHeaderValue):
        seconds_header("fifteen", "x-ms-lease-duration")
    assert lease_id_header(None) is None and seconds_header("-1", "x-ms-lease-duration") == -1


# The table -------------------------------------------------------------------------------------------


def test_the_table_leases_only_blobs_that_exist():
    table = LeaseTable(clock=Clock())
    with pytest.raises(errors.BlobNotFound):
        table.act("c", "b", LeaseRequest("acquire", duration=15, proposed_id=A), lambda: False)
    assert table.lease("c", "b") == Lease()


def test_the_table_runs_a_write_only_when_the_lease_allows_it():
    clock = Clock()
    table = LeaseTable(clock=clock)
    table.act("c", "b", LeaseRequest("acquire", duration=15, proposed_id=A), lambda: True)
    written: list[str] = []
    with pytest.raises(errors.LeaseIdMissing):
        table.write("c", "b", None, lambda: written.append("no id"))
    assert table.write("c", "b", A, lambda: written.append("with A")) is None
    assert written == ["with A"]
    clock.now += 20  # expired: a write without the id forgets it
    table.write("c", "b", None, lambda: written.append("expired"))
    assert table.lease("c", "b") == Lease()
    assert table.read("c", "b", None).state is LeaseState.AVAILABLE


def test_a_delete_takes_the_lease_with_the_blob():
    table = LeaseTable(clock=Clock())
    table.act("c", "b", LeaseRequest("acquire", duration=-1, proposed_id=A), lambda: True)
    with pytest.raises(errors.LeaseIdMismatchWithBlobOperation):
        table.delete("c", "b", B, lambda: None)
    table.delete("c", "b", A, lambda: None)
    assert table.lease("c", "b") == Lease()


def test_leases_survive_a_restart_and_expire_while_it_is_down(tmp_path):
    clock = Clock()
    path = tmp_path / "leases.json"
    table = LeaseTable(path, clock)
    table.act("c", "fixed", LeaseRequest("acquire", duration=15, proposed_id=A), lambda: True)
    table.act("c", "infinite", LeaseRequest("acquire", duration=-1, proposed_id=B), lambda: True)
    assert set(json.loads(path.read_text())["leases"]) == {"c/fixed", "c/infinite"}
    clock.now += 30
    restarted = LeaseTable(path, clock)
    assert restarted.lease("c", "fixed").state(clock.now) is LeaseState.EXPIRED
    assert restarted.lease("c", "infinite") == table.lease("c", "infinite")
    restarted.act("c", "infinite", LeaseRequest("release", lease_id=B), lambda: True)
    assert set(json.loads(path.read_text())["leases"]) == {"c/fixed"}


def test_of_clients_racing_to_acquire_exactly_one_wins():
    table = LeaseTable(clock=Clock())

    def acquire() -> str:
        request = LeaseRequest("acquire", duration=15, proposed_id=str(uuid.uuid4()))
        try:
            table.act("c", "lock", request, lambda: True)
        except errors.LeaseAlreadyPresent:
            return "refused"
        return "won"

    assert sorted(race(acquire, 8)) == ["refused"] * 7 + ["won"]
