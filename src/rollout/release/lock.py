"""A release lock kept on the endpoint itself, as a tag: who holds it, since when, until when.

Endpoints offer no compare-and-swap, so taking the lock is write, settle, re-read: of two
writers racing, the one whose write lands last keeps the lock, and the other sees that on its
re-read and backs off. A rival that read the lock free just before our claim landed lands its own
claim up to one write later, so the settle time is longer than our own write took (seconds on
Azure, where an endpoint update is a long-running operation). A lock whose expiry has passed, or
whose holder was a process on this host that no longer runs, is stale and may be taken over; a
holder that works longer than its lease renews it (`keep_held`).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psutil

from rollout.azureml.endpoints import EndpointBusy, get_endpoint, set_tags, update_endpoint
from rollout.azureml.sdk import state_name
from rollout.core.errors import UserError
from rollout.core.waiting import wait_until

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import OnlineEndpoint

LOCK_TAG = "rollout.lock"
TAKEN_OVER_TAG = "rollout.lock.taken-over-by"  # the last forced take-over of a lock someone held
SETTLE_SECONDS = 1.0  # on top of the time the claim's write took
CLAIM_ATTEMPTS = 5  # claims refused because another write was under way, before giving up
BUSY_WAIT_SECONDS = 300  # how long to wait for another write to finish (a minute or so on Azure)


def settle_seconds(write_seconds: float) -> float:
    """How long to wait after a claim landed before trusting the re-read: longer than a write."""
    return SETTLE_SECONDS + write_seconds


@dataclass(frozen=True)
class Holder:
    owner: str
    host: str
    pid: int
    token: str
    since: str
    expires: str

    def renewed(self, ttl_seconds: float) -> Holder:
        """The same holder (same token), expiring `ttl_seconds` from now."""
        expires = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        return replace(self, expires=expires.isoformat(timespec="seconds"))

    def seconds_left(self) -> float:
        return (datetime.fromisoformat(self.expires) - datetime.now(UTC)).total_seconds()

    @classmethod
    def me(cls, ttl_seconds: float) -> Holder:
        now = datetime.now(UTC)
        run = os.environ.get("GITHUB_RUN_ID")
        owner = f"github run {run}" if run else os.environ.get("USER", "someone")
        return cls(
            owner=owner,
            host=socket.gethostname(),
            pid=os.getpid(),
            token=uuid.uuid4().hex[:12],
            since=now.isoformat(timespec="seconds"),
            expires=(now + timedelta(seconds=ttl_seconds)).isoformat(timespec="seconds"),
        )

    def is_stale(self) -> bool:
        if datetime.fromisoformat(self.expires) < datetime.now(UTC):
            return True
        return self.host == socket.gethostname() and not _process_alive(self.pid)

    def describe(self) -> str:
        return f"{self.owner} ({self.host} pid {self.pid}) since {self.since}, until {self.expires}"


def read_holder(tags: dict[str, str] | None) -> Holder | None:
    raw = (tags or {}).get(LOCK_TAG)
    if not raw:
        return None
    try:
        holder = Holder(**json.loads(raw))
        datetime.fromisoformat(holder.expires)
    except (TypeError, ValueError):
        return None  # not a lock this tool wrote: treat as free
    return holder


@contextmanager
def release_lock(ml: MLClient, endpoint: str, ttl_seconds: float, force: bool = False) -> Iterator[Holder]:
    """Hold the endpoint's release lock for the duration of a block."""
    me = Holder.me(ttl_seconds)
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        try:
            _claim(ml, endpoint, me, force)
            break
        except EndpointBusy:  # another write (a rival's claim?) is under way: read again after it
            if attempt == CLAIM_ATTEMPTS:
                raise
            _wait_while_busy(ml, endpoint)
    winner = read_holder(get_endpoint(ml, endpoint).tags)
    if winner is None or winner.token != me.token:
        holder = winner.describe() if winner else "another release"
        raise UserError(f"endpoint {endpoint} is held by another release: {holder}")
    try:
        yield me
    finally:
        still = read_holder(get_endpoint(ml, endpoint).tags)
        if still and still.token == me.token:
            set_tags(ml, endpoint, {LOCK_TAG: None})


def _claim(ml: MLClient, endpoint: str, me: Holder, force: bool) -> None:
    """Write `me` into the lock unless it is held, then let the write settle before the re-read."""

    def refuse_if_held(tags: dict[str, str] | None) -> Holder | None:
        current = read_holder(tags)
        if current and current.token != me.token and not current.is_stale() and not force:
            raise UserError(f"endpoint {endpoint} is held by another release: {current.describe()}")
        return current

    current = refuse_if_held(get_endpoint(ml, endpoint).tags)
    taking_over = current is not None and not current.is_stale()
    claim = json.dumps(asdict(me))

    def write_claim(latest: OnlineEndpoint) -> None:
        refuse_if_held(latest.tags)  # read again just before the write: a claim may have landed
        latest.tags = {**(latest.tags or {}), LOCK_TAG: claim}
        if taking_over:  # whoever held it finds out, on its next check, who took it
            latest.tags[TAKEN_OVER_TAG] = me.describe()

    # No confirmation here: a rival's claim may land right after ours; the re-read decides.
    began = time.monotonic()
    update_endpoint(ml, endpoint, write_claim, lambda _: True)
    time.sleep(settle_seconds(time.monotonic() - began))


def _wait_while_busy(ml: MLClient, endpoint: str) -> None:
    def idle() -> bool:
        return state_name(get_endpoint(ml, endpoint).provisioning_state) not in ("Creating", "Updating")

    wait_until(idle, BUSY_WAIT_SECONDS, interval=SETTLE_SECONDS)


class LockLost(UserError):
    """Another process took the release lock while this one held it (a rollback with --force-lock)."""


def ensure_held(ml: MLClient, endpoint: str, me: Holder, doing: str) -> None:
    """Raise LockLost unless the endpoint's lock is still `me`'s: whoever took it over wins.

    A rollback is the emergency path: `rollout rollback --force-lock` takes the lock from a stage
    that is baking, and the stage, on its next check, stops and writes nothing.
    """
    _check(get_endpoint(ml, endpoint), me, doing)


def keep_held(ml: MLClient, endpoint: str, me: Holder, lease_seconds: float, doing: str) -> Holder:
    """`ensure_held`, and renew the lock for another lease once less than half of it is left.

    The renewal checks the holder again on the endpoint it rewrites; the holder returned (the same
    token) has the new expiry.
    """
    current = get_endpoint(ml, endpoint)
    _check(current, me, doing)
    if me.seconds_left() >= lease_seconds / 2:
        return me
    renewed = me.renewed(lease_seconds)
    claim = json.dumps(asdict(renewed))

    def write_renewal(latest: OnlineEndpoint) -> None:
        _check(latest, me, doing)
        latest.tags = {**(latest.tags or {}), LOCK_TAG: claim}

    try:
        update_endpoint(ml, endpoint, write_renewal, lambda _: True)  # the next check reads it back
    except EndpointBusy:  # another change is under way (a rival's claim?): the next check tells
        return me
    return renewed


def _check(current: OnlineEndpoint, me: Holder, doing: str) -> None:
    tags = current.tags or {}
    holder = read_holder(tags)
    if holder is not None and holder.token == me.token:
        return
    who = holder.describe() if holder else tags.get(TAKEN_OVER_TAG) or "someone (the lock is free now)"
    raise LockLost(
        f"endpoint {current.name}: the release lock was taken over by {who} (a rollback wins over a "
        f"running stage); {doing} stopped and changed nothing"
    )


def _process_alive(pid: int) -> bool:
    return psutil.pid_exists(pid)
