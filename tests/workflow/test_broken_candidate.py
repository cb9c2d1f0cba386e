"""release.yml executed offline with a faulty candidate: the release stops, live loses nothing.

A model that raises on every request fails the acceptance suite; one that answers after 0.3 s
passes it (under the lab plan's p95 limit) and fails the canary's latency analysis against live. Either
way no later stage runs, the safety-net rollback job runs and closes the release as rolled back,
and a user sending requests to the endpoint all along gets every answer, 200, from live (or, for
the slow one, a slow 200 from the canary while it takes 10%).
"""

from __future__ import annotations

from collections import Counter

import pytest

from conftest import VERSIONS, assert_live_lost_nothing, explain, timed, user_traffic
from rollout.github.rehearsal import pin_to
from rollout.release.rehearsal_lab import Rehearsal

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize(("mode", "fails_at"), [("broken", "acceptance"), ("slow", "stage-canary")])
def test_a_faulty_candidate_stops_the_release_and_the_safety_net_rolls_back(
    rehearsal: Rehearsal, mode: str, fails_at: str
) -> None:
    scenario = rehearsal.scenario(f"{mode}-candidate", live_version=1)
    with user_traffic(scenario) as replies:
        result = scenario.push(1, pin_to(VERSIONS[mode]))
    timed(f"{mode} candidate", result)

    assert result.returncode != 0
    results = result.results()
    assert results["deploy"] == "success", explain(result)
    assert results[fails_at] == "failure", explain(result)
    order = ["acceptance", "stage-canary", "stage-half", "stage-full", "retire"]
    later = order[order.index(fails_at) + 1 :]
    assert {job: results[job] for job in later} == dict.fromkeys(later, "skipped"), explain(result)
    assert results["rollback"] == "success", explain(result)
    if fails_at == "stage-canary":
        assert "fail" in result.jobs["stage-canary"].summary
    status = scenario.status()
    assert status["traffic"] == {"blue": 100}
    assert status["verdict"] == "rolled back"
    # the user: every request answered 200, by live (and by the canary only while it took 10%)
    assert replies and set(status for status, _ in replies) == {200}, Counter(replies)
    assert_live_lost_nothing(replies)
    if mode == "broken":
        assert {deployment for _, deployment in replies} == {"blue"}
