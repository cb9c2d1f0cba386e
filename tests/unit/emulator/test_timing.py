"""Timing profiles: instant finishes at once; azure takes Azure's durations times the scale."""

from __future__ import annotations

import pytest

from rollout.emulator.control.lro import Operations
from rollout.emulator.control.timing import AZURE_SECONDS, Timing, timing_from


def test_instant_takes_no_time():
    assert Timing().seconds("deployment_create") == 0.0
    assert Timing("azure", 0).seconds("deployment_create") == 0.0
    assert Timing().describe() == "instant"


def test_azure_scales_azures_durations():
    timing = timing_from("Azure", "0.01")
    assert timing.seconds("endpoint_update") == pytest.approx(AZURE_SECONDS["endpoint_update"] * 0.01)
    assert timing.seconds("deployment_create") > timing.seconds("endpoint_create") > 0
    assert timing.describe() == "azure x0.01"


@pytest.mark.parametrize(("profile", "scale"), [("fast", None), ("azure", "-1"), ("azure", "soon")])
def test_bad_timings_are_refused(profile, scale):
    with pytest.raises(ValueError):
        timing_from(profile, scale)


def test_an_operation_reports_its_action_and_progress():
    operation = Operations().start("Updating", expected_seconds=10)
    assert operation.reported_status == "Updating"
    assert operation.percent_complete(now=operation.start_time + 5) == 50.0
    assert operation.percent_complete(now=operation.start_time + 60) == 99.0
    Operations.succeed(operation)
    assert (operation.reported_status, operation.percent_complete()) == ("Succeeded", 100.0)
