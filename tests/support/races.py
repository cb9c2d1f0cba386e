"""Contenders released at once: each runs in its own thread, all waiting at a barrier first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

Outcome = TypeVar("Outcome")


def race(attempt: Callable[[], Outcome], contenders: int, timeout: float = 60.0) -> list[Outcome]:
    """Run `attempt` in `contenders` threads started together; their outcomes (in finishing order)."""
    start = threading.Barrier(contenders)
    outcomes: list[Outcome] = []

    def contend() -> None:
        start.wait()
        outcomes.append(attempt())

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert len(outcomes) == contenders, f"{contenders - len(outcomes)} contenders did not finish"
    return outcomes
