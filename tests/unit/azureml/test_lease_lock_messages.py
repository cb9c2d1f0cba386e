"""The release lease lock's pure parts: its blob's name, the one-line messages, durations, times."""

from __future__ import annotations

import datetime as dt

import pytest

from rollout.azureml.lease_lock import (
    Holder,
    check_duration,
    held_message,
    lock_blob_name,
    lost_message,
    until_text,
)
from rollout.core.errors import UserError


def test_the_lock_blob_of_an_endpoint():
    assert lock_blob_name("heart-clf") == "locks/heart-clf.lock"


def test_the_held_message_names_the_holder_and_the_way_out():
    holder = Holder("GitHub run 42 of org/repo (pid 7)", "2026-01-02T03:04:05Z")
    assert held_message("heart-clf", holder) == (
        "the release lock of endpoint heart-clf is held by GitHub run 42 of org/repo (pid 7) until "
        "2026-01-02T03:04:05Z; `--force-lock` takes it over"
    )
    assert held_message("heart-clf", None) == (
        "the release lock of endpoint heart-clf is held by another release; `--force-lock` takes it over"
    )


def test_the_lost_message_says_who_took_it():
    assert "was taken over by rollback R: this release no longer holds it" in lost_message(
        "e", Holder("rollback R")
    )
    assert "was broken or taken over" in lost_message("e", None)


def test_durations_and_times():
    assert check_duration(15) == 15 and check_duration(60) == 60
    for wrong in (14, 61, -1):
        with pytest.raises(UserError, match="15 to 60 s"):
            check_duration(wrong)
    start = dt.datetime(2026, 1, 2, 3, 4, 5, 900000, tzinfo=dt.UTC)
    assert until_text(30, start) == "2026-01-02T03:04:35Z"
