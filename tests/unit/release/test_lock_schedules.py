"""Every schedule of a baking stage S and a forced rollback R, on in-memory fakes of the lock's blob
and the endpoint and a virtual clock: the real `hold`, `HeldLock` (its renewals and its write
fence) and `apply_until_read_back`, with a pause injected at each of S's steps.

S takes the lock, checks it, reads the endpoint, writes its split (the write in transit for a
while, then an operation pending on the endpoint), bakes with a check every 3 s, then reads the
endpoint again and writes it whole (its verdict: a full PUT carries the traffic it read). R starts
at some moment, takes the lock over and puts all traffic back on live.

Every schedule must end with all traffic on live, the lock free, S ended, and no write of S's
landing after R's first. The one assumption: a write sent reaches the endpoint within `transit`
seconds (injected transit pauses stay under it); every other pause is unbounded."""

from __future__ import annotations

import itertools
import os
import socket

import pytest

from lock_fakes import FakeEndpoint, FakeLease, LeasedBlob, RollbackView
from rollout.azureml.endpoints import EndpointBusy
from rollout.azureml.lease_lock import LeaseHeld
from rollout.release.lock import LockLost, LockTiming, hold
from rollout.release.takeover import apply_until_read_back
from virtual_time import VirtualClock

LIVE = {"blue": 100, "green": 0}
STAGE = {"blue": 90, "green": 10}
BAKE_CHECKS, CHECK_EVERY = 4, 3.0

PAUSES = (0.0, 3.0, 7.0, 20.0)
STEP_PAUSES = [
    {point: seconds}
    for point, seconds in itertools.product(("acquired", "checked", "read", "baked", "reread"), PAUSES[1:])
]
TRANSIT = [{"transit": seconds} for seconds in (2.5, 4.9)]  # under LockTiming.transit (5 s)
PENDING = [{"operation": seconds} for seconds in (8.0, 30.0)]
COMBINED = [
    {"read": 7.0, "transit": 4.9, "operation": 30.0},
    {"checked": 4.5, "transit": 4.9},  # sent just inside the window, slow on its way
    {"reread": 20.0, "transit": 4.9, "operation": 8.0},
]
# Azure Storage out of S's reach from `outage` s on (its renewals fail, so it never learns of the
# takeover): only the write fence stops S's next write
OUTAGES = [
    {"outage": 10.0, "baked": 3.0},
    {"outage": 12.5, "reread": 20.0},
    {"outage": 2.0, "read": 20.0},
]
SCHEDULES = [{}, *STEP_PAUSES, *TRANSIT, *PENDING, *COMBINED, *OUTAGES]
STOPPED = ("done", "LockLost", "EndpointBusy", "ConnectionError")  # S ended, one way or another
R_STARTS = (0.0, 0.5, 1.5, 3.0, 5.0, 7.0, 9.5, 12.0, 15.5, 20.0, 27.0, 40.0)


def run_schedule(pauses: dict[str, float], r_starts_at: float) -> tuple[FakeEndpoint, LeasedBlob, dict]:
    clock = VirtualClock()
    timing = LockTiming(lease_seconds=15, clock=clock)
    blob = LeasedBlob(clock)
    endpoint = FakeEndpoint(clock, "ep", dict(LIVE))
    outcome: dict = {}

    def pause(point: str) -> None:
        clock.sleep(pauses.get(point, 0.0))

    def write(traffic: dict[str, int]) -> None:
        endpoint.put("S", traffic, transit=pauses.get("transit", 0.0), operation=pauses.get("operation", 1.0))

    def stage() -> None:
        lease = FakeLease(blob, "ep", "stage S", "runner-1", 101, "stage canary")
        if "outage" in pauses:
            lease.unreachable = (pauses["outage"], float("inf"))
        try:
            with hold(lease, "stage canary", timing=timing) as held:
                pause("acquired")
                held.check()
                pause("checked")
                endpoint.split()
                pause("read")
                write(STAGE)
                for _ in range(BAKE_CHECKS):
                    clock.sleep(CHECK_EVERY)
                    held.check()
                pause("baked")
                traffic = dict(endpoint.traffic)  # the GET of set_tags' read, change, PUT
                pause("reread")
                write(traffic)
            outcome["S"] = "done"
        except (LockLost, EndpointBusy, LeaseHeld, ConnectionError) as stopped:
            outcome["S"] = type(stopped).__name__

    def rollback() -> None:
        clock.sleep(r_starts_at)
        lease = FakeLease(blob, "ep", "rollback R", "runner-2", 202, "the rollback")
        with hold(lease, "the rollback", force=True, timing=timing) as held:
            outcome["R took over from"] = held.took_over_from
            apply_until_read_back(RollbackView(endpoint), {"blue": 100}, held)
        outcome["R"] = "done"

    clock.start(stage, "S")
    clock.start(rollback, "T-R")
    outcome["ended at"] = clock.run()
    assert not clock.errors, clock.errors
    return endpoint, blob, outcome


@pytest.mark.parametrize(
    "pauses", SCHEDULES, ids=lambda pauses: ",".join(f"{k}={v:g}" for k, v in pauses.items()) or "none"
)
def test_every_schedule_ends_on_live_with_the_lock_free(pauses: dict[str, float]) -> None:
    for r_starts_at in R_STARTS:
        endpoint, blob, outcome = run_schedule(pauses, r_starts_at)
        where = f"R at {r_starts_at} s: {outcome}, writes {endpoint.arrivals}"
        assert endpoint.split() == ({"blue": 100}, {}), where
        assert outcome.get("R") == "done" and outcome.get("S") in STOPPED, where
        assert not blob.held(), where
        first_r = next(arrival.at for arrival in endpoint.arrivals if arrival.who == "R")
        assert all(a.at < first_r for a in endpoint.arrivals if a.who == "S"), where


def test_a_takeover_waits_out_the_window_before_writing() -> None:
    endpoint, _, outcome = run_schedule({}, 5.0)
    timing = LockTiming()
    assert outcome["S"] == "LockLost" and outcome["R took over from"].name == "stage S"
    first_r = next(arrival.at for arrival in endpoint.arrivals if arrival.who == "R")
    assert first_r >= 5.0 + timing.write_window + timing.transit


def test_a_rollback_with_no_holder_writes_at_once() -> None:
    endpoint, _, outcome = run_schedule({}, 40.0)  # S has finished by then
    assert outcome["S"] == "done" and outcome["R took over from"] is None
    assert next(arrival.at for arrival in endpoint.arrivals if arrival.who == "R") == 40.0


def test_a_forced_rollback_waits_for_another_rollback_instead_of_breaking_it() -> None:
    """The release's safety net (a forced rollback) arrives while a dispatched rollback still waits
    out the stage it took the lock from: it waits for that rollback, then finds the work done."""
    clock = VirtualClock()
    timing = LockTiming(lease_seconds=15, clock=clock)
    blob = LeasedBlob(clock)
    endpoint = FakeEndpoint(clock, "ep", dict(STAGE))
    stage = FakeLease(blob, "ep", "stage S", "runner-1", 101, "stage canary")
    stage.acquire(15)  # a stage that died holding the lock
    ended: dict[str, float] = {}

    def rollback(name: str, starts_at: float) -> None:
        clock.sleep(starts_at)
        lease = FakeLease(blob, "ep", name, "runner-2", 202, "the rollback")
        with hold(lease, "the rollback", force=True, timing=timing) as held:
            apply_until_read_back(RollbackView(endpoint), {"blue": 100}, held)
        ended[name] = clock.now()

    clock.start(lambda: rollback("R1", 1.0), "R1")
    clock.start(lambda: rollback("R2", 3.0), "R2")
    clock.run()
    assert not clock.errors, clock.errors
    assert endpoint.split() == ({"blue": 100}, {}) and not blob.held()
    assert ended["R1"] < ended["R2"]  # R2 did not break R1's lease: it waited, then applied again
    assert [arrival.who for arrival in endpoint.arrivals] == ["R", "R"]


# -- taking the lock without force: who is refused, who is waited out ------------------------------


def acquire_against(holder_host: str, holder_pid: int, renews: bool) -> tuple[str, float]:
    """Another holder has the lease (renewing it every 5 s, or not); a second one takes the lock
    without force: what happened, and when."""
    clock = VirtualClock()
    timing = LockTiming(lease_seconds=15, clock=clock)
    blob = LeasedBlob(clock)
    first = FakeLease(blob, "ep", "the first", holder_host, holder_pid, duration=15)
    first.acquire(15)
    result: dict[str, object] = {}

    def keep_renewing() -> None:
        for _ in range(6):
            clock.sleep(5)
            first.renew()

    def second() -> None:
        lease = FakeLease(blob, "ep", "the second", "runner-2", 202)
        try:
            with hold(lease, "stage canary", timing=timing):
                result["outcome"] = "held"
        except LeaseHeld:
            result["outcome"] = "refused"
        result["at"] = clock.now()

    if renews:
        clock.start(keep_renewing, "first")
    clock.start(second, "second")
    clock.run()
    assert not clock.errors, clock.errors
    return str(result["outcome"]), float(result["at"])  # type: ignore[arg-type]


def test_a_holder_of_this_host_that_runs_is_refused_at_once() -> None:
    assert acquire_against(socket.gethostname(), os.getpid(), renews=True) == ("refused", 0.0)


def test_a_holder_elsewhere_that_renews_is_refused_once_it_renews() -> None:
    assert acquire_against("runner-1", 101, renews=True) == ("refused", 5.0)


def test_a_holder_that_stopped_renewing_is_waited_out() -> None:
    outcome, at = acquire_against("runner-1", 101, renews=False)
    assert outcome == "held" and 15.0 <= at <= 16.0
