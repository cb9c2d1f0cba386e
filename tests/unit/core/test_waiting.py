"""`wait_until`: asks until the condition holds or the time is up, and lets the caller's errors through."""

from __future__ import annotations

import time

import pytest

from rollout.core.waiting import wait_until


def test_it_answers_true_as_soon_as_the_condition_holds():
    answers = iter([False, False, True])
    began = time.monotonic()
    assert wait_until(lambda: next(answers), timeout=10, interval=0.01)
    assert time.monotonic() - began < 1


def test_it_answers_false_once_the_time_is_up_having_asked_at_the_deadline():
    asked: list[float] = []

    def never() -> bool:
        asked.append(time.monotonic())
        return False

    began = time.monotonic()
    assert not wait_until(never, timeout=0.2, interval=0.05)
    assert 0.2 <= asked[-1] - began < 1.0  # the last question is at (or just after) the deadline
    assert 3 <= len(asked) <= 6


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
