"""release.yml and rollback.yml executed for real, offline: `act` runs their jobs on this machine
against the emulator, on the rehearsal lab (tests/workflow/conftest.py), each scenario on an
endpoint of its own.

- A pin change 1 -> 2 through every job of release.yml, on the azure target (the default a user
  gets): the emulator presented as an Azure cloud, reached through the stand-in `az`. The plan
  keeps two of the shipped stages, the shadow stage and the last: every kind of job runs (each
  stage job is rendered from one template, which the graph tests read for every stage). The
  repository variable ROLLOUT_BAKE shortens the shadow stage's bake (the plan's are minutes long);
  a traffic stage's bake is the plan's at least, so the copy's plan shortens the last stage's.
- rollback.yml dispatched by hand while the canary stage of a release bakes: the rollback takes the
  release lock (`--force-lock`: it is the emergency path) and puts all traffic back on live; the
  baking stage notices at its next check that the lock is no longer its own, writes nothing and
  fails naming who took over; the release's safety net then finds traffic already on live.
  Meanwhile a user's requests are all answered. Both workflows run on the local target (the
  repository variable ROLLOUT_TARGET=local): no login, no `az`.

What the gate decides for other pushes is the pin gate's own (tests/github/test_pin_gate.py); how
each verdict is reached is the release engine's (tests/release).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import yaml

from rehearsal_support import ANALYSIS, RELEASE_JOBS, explain, timed
from release_lab import assert_live_lost_nothing, user_traffic
from rollout.azureml.azure_monitor import CAVEAT
from rollout.rehearsal.act import RunResult
from rollout.rehearsal.lab import Rehearsal
from rollout.rehearsal.repository import pin_to

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# the shipped plan's shadow stage and its last (shadow, canary, half, full)
SHIPPED = yaml.safe_load((Path(__file__).resolve().parents[2] / "deployments" / "release.yml").read_text())
STAGES = [
    stage if stage["name"] == "shadow" else {**stage, "bake": "2s"}
    for stage in SHIPPED["stages"]
    if stage["name"] in ("shadow", "full")
]


def test_a_pin_change_from_1_to_2_releases_version_2_through_every_job(rehearsal: Rehearsal) -> None:
    scenario = rehearsal.scenario("pin-1-to-2", live_version=1, plan={"stages": STAGES, "analysis": ANALYSIS})
    seen: list[tuple[str, str]] = []
    result = scenario.push(
        1,
        pin_to(2),
        variables={"ROLLOUT_BAKE": "2s"},
        on_job=lambda job, outcome: seen.append((job, outcome)),
    )
    timed("pin change 1 -> 2", result)
    assert result.returncode == 0, explain(result)
    assert result.results() == {**dict.fromkeys(RELEASE_JOBS, "success"), "rollback": "skipped"}, explain(
        result
    )
    jobs = result.jobs
    assert jobs["gate"].outputs == {"release": "true"}
    # the preflight, as the release identity: its permissions and the live endpoint as the specs
    preflight = jobs["doctor"].summary
    assert "### rollout doctor: all checks passed" in preflight, preflight
    assert "| ok | permissions | release (caller) | on the lock container:" in preflight
    assert "| ok | slot | blue | live: deployed as its spec |" in preflight
    assert jobs["deploy"].outputs == {"live": "blue", "candidate": "green"}
    for stage in ("shadow", "full"):
        assert jobs[f"stage-{stage}"].step_outputs["promote"]["verdict"] == "pass"
        assert f"### Stage {stage}: pass" in jobs[f"stage-{stage}"].summary
        # judged on Azure Monitor's numbers (the azure target), which says they come late
        assert f"- note: {CAVEAT}" in jobs[f"stage-{stage}"].summary
        # the stage's report: Mermaid charts of the bake, and its history and HTML page kept
        # and the release at a glance first, with the candidate's share over the whole release
        summary = jobs[f"stage-{stage}"].summary
        assert summary.index("at a glance") < summary.index(f"### Stage {stage}: pass")
        assert summary.count("xychart-beta") == 4 and "Candidate's share over the release" in summary
        # act runs the job without a GitHub token: the record says the approvals were not read
        assert "approver not read (no GITHUB_TOKEN in the job's environment)" in summary, summary
        kept = result.artifact(f"release-{stage}") / "reports" / "release"
        assert (kept / f"stage-{stage}.html").read_text().startswith("<!doctype html>")
        assert any(stage in line for line in next(kept.glob("history/*.jsonl")).read_text().splitlines())
    assert "**Next:** Approving stage full" in jobs["stage-shadow"].summary
    assert "**Next:** Approving retire deletes blue" in jobs["stage-full"].summary
    # every job logged in (the stand-in azure/login) and got its tokens from the stand-in `az`
    assert {login["job"] for login in result.logins()} == set(RELEASE_JOBS) - {"validate"}
    calls = result.az_calls()
    assert calls and all(call["ok"] for call in calls), calls
    # DefaultAzureCredential's own calls, for the resolved cloud's resource manager only
    assert all(call["argv"][:2] == ["account", "get-access-token"] for call in calls), calls
    # each job logged in as its own environment's identity, with that environment's roles only
    declared = yaml.safe_load((scenario.project / ".github" / "environments.yml").read_text())["environments"]
    client = {name: str(spec["identity"]["client_id"]) for name, spec in declared.items()}
    tokens = scenario.work / "push" / "tokens"
    logged_in = {
        job: appid((tokens / f"{job}.token").read_text()) for job in set(RELEASE_JOBS) - {"validate"}
    }
    assert logged_in == {
        **dict.fromkeys(("gate", "doctor", "deploy", "acceptance", "retire"), client["release"]),
        "stage-shadow": client["shadow"],
        "stage-full": client["production"],
    }
    # the acceptance suite ran against the candidate and its JUnit report was uploaded
    report = result.artifact("acceptance-report") / "reports" / "acceptance.xml"
    suite = ET.parse(report).getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    assert suite is not None and int(suite.get("tests", 0)) > 0
    assert int(suite.get("failures", 0)) == int(suite.get("errors", 0)) == 0
    assert "| tests | passed |" in jobs["acceptance"].summary
    status = scenario.status()
    assert status["traffic"] == {"green": 100}
    assert [(d["name"], d["model"]) for d in status["deployments"]] == [("green", "heart-classifier:2")]
    assert status["candidate"] is None  # the release is closed


def appid(token: str) -> str:
    """The client id a token was issued to (its JWT's `appid` claim)."""
    payload = token.strip().split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["appid"])


CANARY_BAKE_SECONDS = (
    300  # the rollback comes long before; a canary that baked to the end would fail the test
)
LOCAL = {"ROLLOUT_TARGET": "local"}


def test_rollback_dispatched_while_the_canary_bakes_wins(rehearsal: Rehearsal) -> None:
    # a canary that bakes for minutes, then all traffic: no shadow stage on the way to it
    stages = [
        {"name": "canary", "traffic": 10, "bake": f"{CANARY_BAKE_SECONDS}s", "environment": "canary"},
        {"name": "full", "traffic": 100, "bake": "2s", "environment": "production"},
    ]
    plan = {"stages": stages, "analysis": ANALYSIS}
    scenario = rehearsal.scenario("rollback-mid-release", live_version=1, plan=plan)
    runs: dict[str, RunResult | BaseException] = {}

    def release() -> None:
        try:
            runs["release"] = scenario.push(1, pin_to(2), variables=LOCAL)
        except BaseException as error:
            runs["release"] = error

    with user_traffic(scenario.release(), every=0.1) as replies:
        began = time.monotonic()
        releasing = threading.Thread(target=release, name="release.yml")
        releasing.start()
        while scenario.status()["traffic"].get("green") != 10:
            assert releasing.is_alive(), f"the release ended before its canary baked: {runs}"
            assert time.monotonic() - began < CANARY_BAKE_SECONDS, "the canary stage never started"
            time.sleep(0.5)
        canary_at = time.monotonic() - began
        rollback = scenario.dispatch_rollback(
            2, inputs={"reason": "rehearsal: rolled back mid-canary"}, variables=LOCAL
        )
        releasing.join(timeout=300)
    assert not releasing.is_alive()
    release_run = runs["release"]
    assert isinstance(release_run, RunResult), release_run
    timed(f"release.yml (canary at {canary_at:.0f}s)", release_run)
    timed("rollback.yml", rollback)

    assert rollback.results() == {"rollback": "success"}, explain(rollback)
    assert release_run.logins() == rollback.logins() == []  # the local target: nobody logs in
    results = release_run.results()
    assert results["acceptance"] == "success", explain(release_run)
    assert results["stage-canary"] == "failure", explain(release_run)
    assert results["stage-full"] == results["retire"] == "skipped"
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
