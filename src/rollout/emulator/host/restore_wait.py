"""Waiting for the deployments an emulator brings back when it starts on an existing state.

A started emulator's `/healthz` says `"status": "restoring"` while the deployments restored from
its state are starting, and lists each with its state (`starting`, `ready`, `failed`). `wait`
asks it until none is starting or the time is up, telling each change of progress
("restoring 2 deployments: blue ready, green starting"); with nothing to restore it returns after
one request.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

RESTORE_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Restored:
    """A deployment brought back from the emulator's state, and how it is doing."""

    endpoint: str
    deployment: str
    state: str  # "starting" | "ready" | "failed"
    reason: str = ""


@dataclass(frozen=True)
class Health:
    """What the emulator's `/healthz` says: "ok" or "restoring", and the restored deployments."""

    status: str
    restored: tuple[Restored, ...] = ()

    @property
    def restoring(self) -> bool:
        return self.status == "restoring"


def health(url: str, ca_file: str) -> Health | None:
    """The emulator's health, None when it does not answer."""
    import httpx

    try:
        response = httpx.get(f"{url}/healthz", verify=ssl.create_default_context(cafile=ca_file), timeout=5.0)
        body = response.json()
        restored = tuple(
            Restored(str(d["endpoint"]), str(d["deployment"]), str(d["state"]), str(d.get("reason", "")))
            for d in body.get("restored", [])
        )
        return Health(str(body.get("status", "ok")), restored)
    except (httpx.HTTPError, ValueError, OSError, KeyError, TypeError, AttributeError):
        return None


def describe(current: Health) -> str:
    """One line of progress: "restoring 2 deployments: blue ready, green starting"."""
    deployments = current.restored
    endpoints = {d.endpoint.lower() for d in deployments}
    parts = []
    for d in deployments:
        name = d.deployment if len(endpoints) == 1 else f"{d.endpoint}/{d.deployment}"
        failed = f" ({d.reason})" if d.state == "failed" and d.reason else ""
        parts.append(f"{name} {d.state}{failed}")
    count = f"{len(deployments)} deployment{'' if len(deployments) == 1 else 's'}"
    verb = "restoring" if current.restoring else "restored"
    return f"{verb} {count}: {', '.join(parts)}"


def wait(
    url: str,
    ca_file: str,
    notify: Callable[[str], None] | None = None,
    timeout: float = RESTORE_TIMEOUT_SECONDS,
    *,
    started_now: bool = True,
) -> Health | None:
    """Wait until the emulator at `url` has no restored deployment starting (each ready or failed)
    or `timeout` seconds have passed; `notify` hears each new line of progress, and a last one when
    the time is up. An emulator not `started_now` whose restore ended earlier says nothing. The
    last health seen (None if it did not answer)."""
    deadline = time.monotonic() + timeout
    said = ""
    while True:
        current = health(url, ca_file)
        if current is None or not current.restored or not (current.restoring or started_now or said):
            return current
        line = describe(current)
        if notify is not None and line != said:
            notify(line)
            said = line
        if not current.restoring:
            return current
        if time.monotonic() >= deadline:
            if notify is not None:
                notify(
                    f"still restoring after {timeout:.0f} s; scoring requests to a deployment that "
                    "is starting wait for its instances (within its request_timeout_ms)"
                )
            return current
        time.sleep(POLL_SECONDS)
