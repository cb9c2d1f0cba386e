"""release.yml executed offline for a first release: a new endpoint, nothing live yet.

The Azure article's starting point. The acceptance suite runs without the comparison with live
(reported as skipped, not applicable, never as a pass) and the candidate takes all traffic under
analysis against the plan's absolute limits. With no live deployment the probe load all goes to
the candidate, so this rehearsal sends 15 requests a second over 10 s bakes (150 requests). The
gate reads the endpoint, which does not exist yet: a first release.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from conftest import RELEASE_JOBS, explain, timed
from rollout.github.rehearsal import pin_to
from rollout.release.rehearsal_lab import Rehearsal

pytestmark = pytest.mark.timeout(900)


def test_a_first_release_on_a_new_endpoint_gives_the_candidate_all_traffic(rehearsal: Rehearsal) -> None:
    new_endpoint = rehearsal.scenario("first-release", live_version=None)
    # with no live deployment all the probe load goes to the candidate: a lighter load
    result = new_endpoint.push(1, pin_to(2), variables={"ROLLOUT_PROBE_RPS": "15"})
    timed("first release", result)
    assert result.results() == {**dict.fromkeys(RELEASE_JOBS, "success"), "rollback": "skipped"}, explain(
        result
    )
    assert result.jobs["gate"].outputs == {"release": "true"}
    assert "does not exist yet" in result.jobs["gate"].summary
    assert result.jobs["deploy"].outputs == {"live": "", "candidate": "blue"}
    report = ET.parse(result.artifact("acceptance-report") / "reports" / "acceptance.xml").getroot()
    suite = report.find("testsuite") if report.tag == "testsuites" else report
    assert suite is not None
    skipped = {
        case.get("name"): case.find("skipped").get("message", "")
        for case in suite.iter("testcase")
        if case.find("skipped") is not None
    }
    assert list(skipped) == ["test_candidate_agrees_with_live"]
    assert "not applicable" in skipped["test_candidate_agrees_with_live"]
    assert int(suite.get("failures", 0)) == int(suite.get("errors", 0)) == 0
    status = new_endpoint.status()
    assert status["traffic"] == {"blue": 100}
    assert [(d["name"], d["model"]) for d in status["deployments"]] == [("blue", "heart-classifier:2")]
    assert status["candidate"] is None
