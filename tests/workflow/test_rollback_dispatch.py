"""rollback.yml dispatched by hand in the middle of a release: the rollback wins.

release.yml runs for a pin change 1 -> 2 with a long canary bake; while the canary stage bakes,
someone runs rollback.yml (a `workflow_dispatch` event, as the Actions tab sends it). The rollback
takes the release lock (`--force-lock`: it is the emergency path) and puts all traffic back on
live; the baking stage notices at its next check that the lock is no longer its own, writes
nothing and fails naming who took over; the release's safety net then runs and finds traffic
already on live. Meanwhile a user's requests are all answered.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from conftest import assert_live_lost_nothing, explain, timed, user_traffic
from rollout.github.act import RunResult
from rollout.github.rehearsal import pin_to
from rollout.release.rehearsal_lab import Rehearsal

pytestmark = pytest.mark.timeout(900)

CANARY_BAKE_SECONDS = (
    150  # long enough for rollback.yml's run to start while it bakes, however busy the machine
)


def test_rollback_dispatched_while_the_canary_bakes_wins(rehearsal: Rehearsal) -> None:
    scenario = rehearsal.scenario("rollback-mid-release", live_version=1)
    runs: dict[str, RunResult | BaseException] = {}

    def release() -> None:
        try:
            runs["release"] = scenario.push(
                1, pin_to(2), variables={"ROLLOUT_BAKE": f"{CANARY_BAKE_SECONDS}s"}
            )
        except BaseException as error:
            runs["release"] = error

    with user_traffic(scenario) as replies:
        began = time.monotonic()
        releasing = threading.Thread(target=release, name="release.yml")
        releasing.start()
        while scenario.status()["traffic"].get("green") != 10:
            assert releasing.is_alive(), f"the release ended before its canary baked: {runs}"
            # the shadow stage bakes as long before the canary starts
            assert time.monotonic() - began < 400 + CANARY_BAKE_SECONDS, "the canary stage never started"
            time.sleep(1)
        canary_at = time.monotonic() - began
        rollback = scenario.dispatch_rollback(2, inputs={"reason": "rehearsal: rolled back mid-canary"})
        releasing.join(timeout=600)
    assert not releasing.is_alive()
    release_run = runs["release"]
    assert isinstance(release_run, RunResult), release_run
    timed(f"release.yml (canary at {canary_at:.0f}s)", release_run)
    timed("rollback.yml", rollback)

    assert rollback.results() == {"rollback": "success"}, explain(rollback)
    results = release_run.results()
    assert results["acceptance"] == "success", explain(release_run)
    assert results["stage-canary"] == "failure", explain(release_run)
    assert results["stage-half"] == results["stage-full"] == results["retire"] == "skipped"
    assert results["rollback"] == "success", explain(release_run)  # the safety net finds it done
    canary_log = "\n".join(
        release_run.jobs["stage-canary"].log + release_run.jobs["stage-canary"].annotations
    )
    assert "taken over by" in canary_log and "stage canary stopped and changed nothing" in canary_log
    # the canary stopped at a check during its bake: a job that baked to the end would take longer
    assert release_run.jobs["stage-canary"].seconds < CANARY_BAKE_SECONDS
    status = scenario.status()
    assert status["traffic"] == {"blue": 100}
    assert status["verdict"] == "rolled back"
    assert status["stage"] is None
    assert replies and {s for s, _ in replies} == {200}, Counter(replies)
    assert_live_lost_nothing(replies)
