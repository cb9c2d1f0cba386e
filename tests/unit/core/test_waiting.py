"""`wait_until`: asks until the condition holds or the time is up, and lets the caller's errors through."""

from __future__ import annotations

import pytest

from rollout.core import waiting
from rollout.core.waiting import wait_until


class Clock:
    """Time that passes only when the waiter sleeps: the test's verdict owes nothing to the load."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(waiting.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(waiting.time, "sleep", fake.sleep)
    return fake


def test_it_answers_true_as_soon_as_the_condition_holds(clock: Clock):
    answers = iter([False, False, True])
    assert wait_until(lambda: next(answers), timeout=10, interval=0.25)
    assert clock.slept == [0.25, 0.25]  # asked three times, no wait after the true answer


def test_it_answers_false_once_the_time_is_up_having_asked_at_the_deadline(clock: Clock):
    asked: list[float] = []

    def never() -> bool:
        asked.append(clock.now)
        return False

    assert not wait_until(never, timeout=1.0, interval=0.25)
    assert [at - 100.0 for at in asked] == [0.0, 0.25, 0.5, 0.75, 1.0]  # the last at the deadline


def test_a_zero_timeout_asks_once():
    asked: list[bool] = []
    assert not wait_until(lambda: asked.append(True), timeout=0)
    assert asked == [True]


def test_it_takes_any_truthy_answer():
    assert wait_until(lambda: [1], timeout=0)


def test_what_the_condition_raises_reaches_the_caller():
    def broken() -> bool:
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        wait_until(broken, timeout=5)
