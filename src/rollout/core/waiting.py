"""Waiting for a condition: ask again at an interval until it holds or the time is up."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float, *, interval: float = 0.05) -> bool:
    """Call `predicate` until it answers true (then True) or `timeout` seconds have passed (False).

    It is asked at once, then every `interval` seconds, and once more at the deadline, so a
    condition that holds in time is never missed and a zero timeout asks exactly once. Whatever
    `predicate` raises reaches the caller.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(interval, remaining))
