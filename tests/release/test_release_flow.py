"""Releases walked end to end on the emulator, through the real SDK, HTTPS and worker processes."""

from __future__ import annotations

import dataclasses

import pytest

from labs import Lab
from load_support import SteadyLoad
from release_lab import (
    PROBE_RPS,
    SLOW_SECONDS,
    VERSIONS,
    assert_live_lost_nothing,
    lock_holder,
    user_traffic,
)
from rollout.azureml.endpoints import apply_endpoint
from rollout.azureml.lease_lock import LeaseLock
from rollout.core.errors import UserError
from rollout.release import history
from rollout.release.run import run_release
from rollout.release.steps import Release


def walk_all_stages(rel: Release) -> None:
    for stage in rel.project.plan.stages:
        result = rel.promote(stage.name, probe_rps=PROBE_RPS)
        assert result.verdict.outcome == "pass", result.verdict


def test_a_whole_release_under_load_loses_no_request_and_frees_a_slot_for_the_next(
    lab: Lab, live_on_v1: Release
) -> None:
    rel = live_on_v1
    with SteadyLoad(rel, threads=2) as load:
        assert rel.deploy(version=VERSIONS["v2"]).to_dict() == {
            "live": "blue",
            "candidate": "green",
            "model": "heart-classifier:2",
        }
        assert rel.status().traffic == {"blue": 100}
        walk_all_stages(rel)
        with pytest.raises(UserError, match="no release in progress"):  # the last stage closed it
            rel.promote("canary")
        assert rel.retire().to_dict() == {"retired": "blue", "live": "green"}
    # zero downtime: every request through deploy, each traffic change and retire got a valid answer
    invalid = [sent for sent in load.sent if not sent.valid]
    assert not invalid, f"{len(invalid)} of {len(load.sent)} replies failed or invalid, e.g. {invalid[:3]}"
    assert {sent.deployment for sent in load.sent} == {"blue", "green"}

    assert rel.deploy(version=VERSIONS["v2"]).to_dict() == {
        "live": "green",
        "candidate": None,
        "model": "heart-classifier:2",
    }
    status = rel.status()
    assert status.traffic == {"green": 100}
    assert [(d.name, d.model) for d in status.deployments] == [("green", "heart-classifier:2")]
    assert (status.candidate, status.live) == (None, "green")

    assert rel.deploy(version=VERSIONS["v3"]).candidate == "blue"
    walk_all_stages(rel)
    # with the plan's retire_after, green stays at 0% that long after the last stage: no retire yet
    kept = dataclasses.replace(
        rel.project, plan=rel.project.plan.model_copy(update={"retire_after_seconds": 3600})
    )
    rel.project = kept
    with pytest.raises(UserError, match=r"stays at 0% until .* UTC \(the plan's retire_after, 60 min after"):
        rel.retire()
    resumed = run_release(rel, version=VERSIONS["v3"], confirm=lambda question: True, acceptance=None)
    assert (resumed.stages, resumed.stopped_before, resumed.retired) == ([], "retire", None)
    plan_file = rel.project.root / "deployments" / "release.yml"
    plan_file.write_text(plan_file.read_text() + "\nretire_after: 60m\n")
    again = lab.in_process("release", "--yes", "--version", str(VERSIONS["v3"]), cwd=rel.project.root)
    assert again.returncode == 0, again.stderr
    assert "the old deployment green stays at 0% until" in again.stderr
    assert (
        "released heart-classifier:3: blue is live, green kept at 0% until `rollout retire`" in again.stdout
    )
    assert {d.name for d in rel.status().deployments} == {"blue", "green"}
    rel.retire(now=True)
    status = rel.status()
    assert status.traffic == {"blue": 100}
    assert [(d.name, d.model) for d in status.deployments] == [("blue", "heart-classifier:3")]


def test_deploy_again_with_the_same_pin_is_a_no_op(live_on_v1: Release) -> None:
    rel = live_on_v1
    said: list[str] = []
    rel.say = said.append
    rel.deploy(version=VERSIONS["v2"])
    rel.deploy(version=VERSIONS["v2"])
    again = said[said.index("deploying heart-classifier:2 into green at 0% traffic") + 1 :]
    assert "heart-classifier:2 is already deployed in green" in again  # nothing deployed twice
    assert "deploying heart-classifier:2 into green at 0% traffic" not in again
    assert again[-1].startswith("packages: green installs the same ")  # the slot's packages, as recorded


def test_a_candidate_that_fails_every_request_stops_before_traffic_moves(
    lab: Lab, live_on_v1: Release
) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["broken"])
    with user_traffic(rel) as replies:
        with pytest.raises(UserError) as refused:
            rel.promote("canary", probe_rps=PROBE_RPS)
        # the release workflow's safety net then rolls back: the release is closed as rolled back
        rel.rollback(force_lock=True)
    assert "candidate green answered 424" in str(refused.value)
    assert str(refused.value).endswith("no traffic was moved")
    status = rel.status()
    assert (status.traffic, status.mirror_traffic, status.verdict) == ({"blue": 100}, {}, "rolled back")
    assert_live_lost_nothing(replies)
    assert {d for _, d in replies} == {"blue"}
    # the failed smoke check is a failed stage in the history, and in the report
    smoked = [entry for entry in history.read(rel.endpoint_name) if entry.step == "stage"][-1]
    assert (smoked.name, smoked.outcome, smoked.rolled_back) == ("canary", "fail", False)
    assert smoked.reasons[0].startswith("candidate green answered 424 to samples/")
    report = lab.in_process("report", "--format", "markdown", "--stage", "canary", cwd=rel.project.root)
    assert report.returncode == 0, report.stderr
    glance, _, details = report.stdout.partition("\n### Stage canary: fail\n")
    assert "**canary fail** in " in glance and "; rollback at " in glance, glance  # the rollback marked
    assert "- candidate green answered 424 to samples/" in details


def test_a_candidate_failing_on_a_share_of_requests_is_rolled_back(live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["flaky"])
    with user_traffic(rel) as replies:
        result = rel.promote("canary", probe_rps=PROBE_RPS)
    assert result.verdict.outcome == "fail"
    assert result.rolled_back
    assert "error rate" in result.verdict.reasons[0]
    status = rel.status()
    assert (status.traffic, status.mirror_traffic) == ({"blue": 100}, {})
    assert status.verdict == "canary: fail"
    assert_live_lost_nothing(replies)


def test_a_much_slower_candidate_is_rolled_back(live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["slow"])
    with user_traffic(rel) as replies:
        # long enough for the requests it holds SLOW_SECONDS each to add up to min_requests
        result = rel.promote("canary", bake_seconds=SLOW_SECONDS + 4, probe_rps=PROBE_RPS)
    assert result.verdict.outcome == "fail"
    assert any("p95 latency" in reason for reason in result.verdict.reasons), result.verdict.reasons
    assert rel.status().traffic == {"blue": 100}
    assert_live_lost_nothing(replies)


def test_stages_cannot_be_skipped_and_rollback_restores_live(live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    with pytest.raises(UserError, match="stage half cannot start before stage canary has passed"):
        rel.promote("half")
    assert rel.promote("canary", probe_rps=PROBE_RPS).verdict.outcome == "pass"
    assert rel.status().traffic == {"blue": 90, "green": 10}
    apply_endpoint(rel.conn.ml, rel.project.endpoint)  # the spec again: split and release tags stay
    assert (rel.status().traffic, rel.status().stage) == ({"blue": 90, "green": 10}, "canary")
    assert rel.deploy(version=VERSIONS["v2"]).candidate == "green"  # a re-run changes nothing
    assert rel.status().stage == "canary"
    with pytest.raises(UserError, match="the release of heart-classifier:2 into green is under way"):
        rel.deploy(version=VERSIONS["v3"])
    assert rel.rollback().to_dict() == {"live": "blue", "candidate": "green", "deleted": False}
    status = rel.status()
    assert status.traffic == {"blue": 100}
    assert status.stage is None
    assert {d.name for d in status.deployments} == {"blue", "green"}
    rel.rollback(delete=True)
    assert {d.name for d in rel.status().deployments} == {"blue"}
    with pytest.raises(UserError, match="no release in progress: nothing to roll back"):
        rel.rollback()


def test_inconclusive_when_the_endpoint_is_quiet(live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    result = rel.promote("canary", bake_seconds=1)
    assert result.verdict.outcome == "inconclusive"
    assert "candidate requests; at least 10 are needed" in result.verdict.reasons[0]
    assert rel.status().traffic == {"blue": 90, "green": 10}


def test_promote_without_a_release_is_refused(lab: Lab, live_on_v1: Release) -> None:
    with pytest.raises(UserError, match=r"no release in progress: run `rollout deploy` first"):
        live_on_v1.promote("canary")


def test_the_release_lock_refuses_a_running_holder_and_force_lock_takes_it_over(live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    other = LeaseLock.open(rel.conn.target, rel.endpoint_name, doing="stage canary")
    other.name = "github run 7"
    other.acquire(15)
    with pytest.raises(UserError, match=r"is held by github run 7 until .*; `--force-lock` takes it over"):
        rel.rollback()
    said: list[str] = []
    Release(rel.conn, rel.project, progress=said.append).rollback(force_lock=True)
    assert any(line.startswith("took the release lock over from github run 7: waiting") for line in said)
    with pytest.raises(UserError, match="no longer holds it"):
        other.renew()  # the old holder learns it at its next renewal, and writes nothing more
    assert lock_holder(rel) is None
