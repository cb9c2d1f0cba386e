"""A release lock kept on the endpoint itself, as a tag: who holds it, since when, until when.

Endpoints offer no compare-and-swap, so taking the lock is write, settle, re-read: of two
writers racing, the one whose write lands last keeps the lock, and the other sees that on its
re-read and backs off. A lock whose expiry has passed, or whose holder was a process on this host
that no longer runs, is stale and may be taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rollout.azureml.endpoints import get_endpoint, set_tags, update_endpoint
from rollout.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import OnlineEndpoint

LOCK_TAG = "rollout.lock"
TAKEN_OVER_TAG = "rollout.lock.taken-over-by"  # the last forced take-over of a lock someone held
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Holder:
    owner: str
    host: str
    pid: int
    token: str
    since: str
    expires: str

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
    current = read_holder(get_endpoint(ml, endpoint).tags)
    if current and not current.is_stale() and not force:
        raise UserError(f"endpoint {endpoint} is held by another release: {current.describe()}")
    claim = json.dumps(asdict(me))
    taking_over = current is not None and not current.is_stale()

    def write_claim(endpoint: OnlineEndpoint) -> None:
        endpoint.tags = {**(endpoint.tags or {}), LOCK_TAG: claim}
        if taking_over:  # whoever held it finds out, on its next check, who took it
            endpoint.tags[TAKEN_OVER_TAG] = me.describe()

    # No confirmation here: a rival's claim may land right after ours; the re-read below decides.
    update_endpoint(ml, endpoint, write_claim, lambda _: True)
    time.sleep(SETTLE_SECONDS)
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


class LockLost(UserError):
    """Another process took the release lock while this one held it (a rollback with --force-lock)."""


def ensure_held(ml: MLClient, endpoint: str, me: Holder, doing: str) -> None:
    """Raise LockLost unless the endpoint's lock is still `me`'s: whoever took it over wins.

    A rollback is the emergency path: `rollout rollback --force-lock` takes the lock from a stage
    that is baking, and the stage, on its next check, stops and writes nothing.
    """
    tags = get_endpoint(ml, endpoint).tags or {}
    holder = read_holder(tags)
    if holder is not None and holder.token == me.token:
        return
    who = holder.describe() if holder else tags.get(TAKEN_OVER_TAG) or "someone (the lock is free now)"
    raise LockLost(
        f"endpoint {endpoint}: the release lock was taken over by {who} (a rollback wins over a "
        f"running stage); {doing} stopped and changed nothing"
    )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
