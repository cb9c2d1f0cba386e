"""release.yml executed offline for a first release: a new endpoint, nothing live yet.

The Azure article's starting point. The acceptance suite runs without the comparison with live
(reported as skipped, not applicable, never as a pass) and the candidate takes all traffic under
analysis against the plan's absolute limits. With no live deployment the probe load all goes to
the candidate, so this rehearsal sends 15 requests a second over 10 s bakes (150 requests, under
the deployment's 8 pending requests at this latency).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.rehearsal import Rehearsal, pin_to

REPO = Path(__file__).resolve().parents[2]
RELEASE_JOBS = [
    "gate",
    "validate",
    "deploy",
    "acceptance",
    "stage-canary",
    "stage-half",
    "stage-full",
    "retire",
]

pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def new_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    began = time.monotonic()
    prepared = Rehearsal.prepare(
        REPO, tmp_path_factory.mktemp("first-release"), bake="10s", probe_rps=15, live_version=0
    )
    print(f"lab without a live deployment prepared in {time.monotonic() - began:.0f}s")
    yield prepared
    prepared.close()


def test_a_first_release_on_a_new_endpoint_gives_the_candidate_all_traffic(new_endpoint: Rehearsal) -> None:
    result = new_endpoint.push("first-release", 1, pin_to(2))
    print(f"first release: act ran {result.seconds:.0f}s")
    print("job seconds: " + ", ".join(f"{j.job_id} {j.seconds:.0f}" for j in result.jobs.values()))
    failed = "".join(
        f"\n--- {job.job_id} ---\n{result.failure_log(job.job_id)}"
        for job in result.jobs.values()
        if job.result == "failure"
    )
    assert result.results() == {**dict.fromkeys(RELEASE_JOBS, "success"), "rollback": "skipped"}, (
        result.describe() + failed
    )
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
