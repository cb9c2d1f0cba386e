"""release.yml executed offline with a faulty candidate: the release stops, live loses nothing.

A model that raises on every request fails the acceptance suite; one that answers after 1 s
passes it (under the lab plan's p95 limit) and fails the shadow stage's latency analysis of the
live requests mirrored to it, against live, before any user request reaches it. Either way no
later stage runs, the safety-net rollback job runs and closes the release as rolled back, mirroring
is off, and a user sending requests to the endpoint all along gets every answer, 200, from live.
"""

from __future__ import annotations

from collections import Counter

import pytest

from conftest import VERSIONS, assert_live_lost_nothing, explain, timed, user_traffic
from rollout.github.rehearsal import pin_to
from rollout.release.rehearsal_lab import Rehearsal

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize(("mode", "fails_at"), [("broken", "acceptance"), ("slow", "stage-shadow")])
def test_a_faulty_candidate_stops_the_release_and_the_safety_net_rolls_back(
    rehearsal: Rehearsal, mode: str, fails_at: str
) -> None:
    scenario = rehearsal.scenario(f"{mode}-candidate", live_version=1)
    # Judged on copies of half the requests sent through live, which busy shared cores answer at
    # some 20 a second: the shadow stage bakes 20 s to reach the plan's min_requests (100).
    variables = {"ROLLOUT_BAKE": "20s"} if fails_at == "stage-shadow" else None
    with user_traffic(scenario) as replies:
        result = scenario.push(1, pin_to(VERSIONS[mode]), variables=variables)
    timed(f"{mode} candidate", result)

    assert result.returncode != 0
    results = result.results()
    assert results["deploy"] == "success", explain(result)
    assert results[fails_at] == "failure", explain(result)
    order = ["acceptance", "stage-shadow", "stage-canary", "stage-half", "stage-full", "retire"]
    later = order[order.index(fails_at) + 1 :]
    assert {job: results[job] for job in later} == dict.fromkeys(later, "skipped"), explain(result)
    assert results["rollback"] == "success", explain(result)
    if fails_at == "stage-shadow":
        summary = result.jobs["stage-shadow"].summary
        assert "### Stage shadow: fail" in summary and "p95 latency" in summary, summary
        assert "judged on copies of 50% of the live requests" in summary
    status = scenario.status()
    assert (status["traffic"], status["mirror_traffic"]) == ({"blue": 100}, {})
    assert status["verdict"] == "rolled back"
    # the user: zero failed requests, every one answered 200 by live (the candidate never served one)
    assert replies and Counter(replies) == Counter({(200, "blue"): len(replies)}), Counter(replies)
    assert_live_lost_nothing(replies)
