"""Virtual time for real threads: a clock that moves only when every thread it runs is asleep.

Threads started with `VirtualClock.start` run one at a time: the clock wakes the sleeper that is
due first (ties by name, then by when they fell asleep), waits until it sleeps again or ends, then
wakes the next. So a schedule of threads that block only on the clock is deterministic, and hours
of timeouts pass in milliseconds. Anything a thread raises is kept in `errors`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

STUCK_SECONDS = 10.0  # real seconds a woken thread may run without sleeping or ending


class VirtualClock:
    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._now = 0.0
        self._running = 0
        self._sleepers: list[tuple[float, str, int, threading.Event]] = []
        self._order = itertools.count()
        self.errors: list[BaseException] = []

    def now(self) -> float:
        with self._cv:
            return self._now

    def sleep(self, seconds: float) -> None:
        go = threading.Event()
        with self._cv:
            due = self._now + max(0.0, seconds)
            heapq.heappush(self._sleepers, (due, threading.current_thread().name, next(self._order), go))
            self._running -= 1
            self._cv.notify_all()
        go.wait()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.sleep(seconds)
        return event.is_set()

    def start(self, work: Callable[[], None], name: str) -> None:
        def run() -> None:
            try:
                work()
            except BaseException as error:  # kept for the test to look at
                self.errors.append(error)
            finally:
                with self._cv:
                    self._running -= 1
                    self._cv.notify_all()

        with self._cv:
            self._running += 1
        threading.Thread(target=run, name=name, daemon=True).start()

    def run(self, until: float = 3600.0) -> float:
        """Drive the threads until none is left (every one ended); the virtual time then."""
        with self._cv:
            while True:
                if not self._cv.wait_for(lambda: self._running == 0, timeout=STUCK_SECONDS):
                    raise AssertionError("a thread ran for real seconds without sleeping on the clock")
                if not self._sleepers:
                    return self._now
                due, _, _, go = heapq.heappop(self._sleepers)
                if due > until:
                    raise AssertionError(f"threads still sleeping at {until} s of virtual time")
                self._now = due
                self._running += 1
                go.set()
