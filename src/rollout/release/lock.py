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

    def write_claim(current: OnlineEndpoint) -> None:
        current.tags = {**(current.tags or {}), LOCK_TAG: claim}

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


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
