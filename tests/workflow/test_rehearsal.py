"""release.yml executed for real, offline: `act` runs its jobs on this machine against the emulator.

Scenarios on the shared lab (tests/workflow/conftest.py), each on an endpoint of its own: a push
that leaves the pin alone (on the local target, the one scenario that keeps it covered); a pin
change 1 -> 2 through every stage; a bump whose run GitHub dropped (a later push replaced it in the
concurrency group), followed by an unrelated edit. Those two run on the azure target, the default a
user gets: the emulator presented as an Azure cloud, reached through the stand-in `az`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import RELEASE_JOBS, explain, timed
from rollout.azureml.monitor import CAVEAT
from rollout.github import act, rehearsal
from rollout.github.act import parse_act_json
from rollout.github.rehearsal import pin_to, touch_plan_comment
from rollout.release.rehearsal_lab import Rehearsal

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(900)


def test_a_push_that_does_not_change_the_pin_runs_only_the_gate(rehearsal: Rehearsal) -> None:
    # the repository variable ROLLOUT_TARGET=local: the local target, no login, no `az`
    scenario = rehearsal.scenario("no-pin-change", live_version=1)
    result = scenario.push(1, touch_plan_comment(), variables={"ROLLOUT_TARGET": "local"})
    timed("no pin change (local target)", result)
    assert result.returncode == 0, explain(result)
    assert result.logins() == [] and result.az_calls() == []
    assert result.jobs["gate"].result == "success", explain(result)
    assert result.jobs["gate"].outputs == {"release": "false"}
    assert "The model pin is still heart-classifier:1" in result.jobs["gate"].summary
    assert {job: outcome for job, outcome in result.results().items() if job != "gate"} == dict.fromkeys(
        [*RELEASE_JOBS[1:], "rollback"], "skipped"
    )
    status = scenario.status()
    assert status["traffic"] == {"blue": 100}
    assert [d["name"] for d in status["deployments"]] == ["blue"]


def test_a_bump_whose_run_was_dropped_is_released_by_the_next_push(rehearsal: Rehearsal) -> None:
    # 1 -> 2 was pushed; its pending run was replaced by the run of an unrelated edit (GitHub keeps
    # one pending run per concurrency group), so the commit before this push already pins 2 while
    # the endpoint still serves 1: the gate must release.
    scenario = rehearsal.scenario("dropped-bump", live_version=1)
    result = scenario.push(2, touch_plan_comment(), job="gate")
    timed("dropped bump, gate", result)
    assert result.jobs["gate"].result == "success", explain(result)
    assert result.jobs["gate"].outputs == {"release": "true"}, result.jobs["gate"].summary
    assert "serves heart-classifier:1, the plan pins heart-classifier:2" in result.jobs["gate"].summary


def test_a_pin_change_from_1_to_2_releases_version_2_through_every_stage(rehearsal: Rehearsal) -> None:
    scenario = rehearsal.scenario("pin-1-to-2", live_version=1)
    seen: list[tuple[str, str]] = []
    result = scenario.push(1, pin_to(2), on_job=lambda job, outcome: seen.append((job, outcome)))
    timed("pin change 1 -> 2", result)
    assert result.returncode == 0, explain(result)
    assert result.results() == {**dict.fromkeys(RELEASE_JOBS, "success"), "rollback": "skipped"}, explain(
        result
    )
    jobs = result.jobs
    assert jobs["gate"].outputs == {"release": "true"}
    assert jobs["deploy"].outputs == {"live": "blue", "candidate": "green"}
    for stage in ("shadow", "canary", "half", "full"):
        assert jobs[f"stage-{stage}"].step_outputs["promote"]["verdict"] == "pass"
        assert f"### Stage {stage}: pass" in jobs[f"stage-{stage}"].summary
        # judged on Azure Monitor's numbers (the azure target), which says they come late
        assert f"- note: {CAVEAT}" in jobs[f"stage-{stage}"].summary
        # the stage's report: Mermaid charts of the bake, and its history and HTML page kept
        assert jobs[f"stage-{stage}"].summary.count("xychart-beta") == 3
        kept = result.artifact(f"release-{stage}") / "reports" / "release"
        assert (kept / f"stage-{stage}.html").read_text().startswith("<!doctype html>")
        assert any(stage in line for line in next(kept.glob("history/*.jsonl")).read_text().splitlines())
    assert "**Next:** Approving stage half" in jobs["stage-canary"].summary
    assert "**Next:** Approving retire deletes blue" in jobs["stage-full"].summary
    # every job logged in (the stand-in azure/login) and got its tokens from the stand-in `az`
    assert {login["job"] for login in result.logins()} == set(RELEASE_JOBS) - {"validate"}
    calls = result.az_calls()
    assert calls and all(call["ok"] for call in calls), calls
    # DefaultAzureCredential's own calls, for the resolved cloud's resource manager only
    assert all(call["argv"][:2] == ["account", "get-access-token"] for call in calls), calls
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


def test_act_json_is_read_into_jobs_steps_outputs_and_summaries() -> None:
    workflow = {
        "jobs": {
            "deploy": {"outputs": {"candidate": "${{ steps.deploy.outputs.candidate }}"}},
            "later": {},
        }
    }
    lines = [
        "not json",
        '{"jobID": "deploy", "job": "Deploy", "time": "2026-01-01T00:00:00Z", "msg": "start"}',
        '{"jobID": "deploy", "stepID": ["deploy"], "command": "set-output", "name": "candidate", "arg": "green"}',
        '{"jobID": "deploy", "stepID": ["deploy"], "raw_output": true, "msg": "deployed\\n"}',
        '{"jobID": "deploy", "stepID": ["deploy"], "stage": "Main", "stepResult": "success"}',
        '{"jobID": "deploy", "stepID": ["s"], "command": "summary", "content": "## Deploy\\n"}',
        '{"jobID": "deploy", "time": "2026-01-01T00:00:07Z", "jobResult": "success"}',
    ]
    jobs = parse_act_json(lines, workflow)
    assert jobs["deploy"].result == "success"
    assert jobs["deploy"].outputs == {"candidate": "green"}
    assert jobs["deploy"].steps == {"deploy": "success"}
    assert jobs["deploy"].summary == "## Deploy\n"
    assert jobs["deploy"].log == ["deployed"]
    assert jobs["deploy"].seconds == 7
    assert jobs["later"].result == "skipped"


def test_every_pinned_third_party_action_but_checkout_has_a_stand_in() -> None:
    substituted = act.local_repositories(REPO / rehearsal.STAND_INS)
    assert {value.split("@")[0] for value in substituted} == {
        "actions/setup-python",
        "azure/login",
        "actions/upload-artifact",
    }


STAND_IN_WORKFLOW = """
name: stand-ins
on: push
jobs:
  login:
    runs-on: ubuntu-latest
    steps:
      - uses: {login}
        with:
          client-id: ${{{{ vars.AZURE_CLIENT_ID }}}}
          tenant-id: ${{{{ vars.AZURE_TENANT_ID }}}}
          subscription-id: ${{{{ vars.AZURE_SUBSCRIPTION_ID }}}}
  upload:
    runs-on: ubuntu-latest
    steps:
      - uses: {checkout}
      - run: mkdir -p reports && echo '<testsuite tests="1"/>' > reports/a.xml
      - uses: {upload}
        with:
          name: report
          path: reports/a.xml
      - uses: {upload}
        with:
          name: nothing
          path: reports/missing.xml
          if-no-files-found: error
"""


def test_the_stand_ins_check_login_inputs_and_copy_artifacts(tmp_path: Path) -> None:
    from rollout.github.workflow import ACTION_PINS

    def uses(key: str) -> str:
        return "{}@{}".format(*ACTION_PINS[key][:2])

    source = tmp_path / "source"
    workflow = Path(".github/workflows/stand-ins.yml")
    (source / workflow).parent.mkdir(parents=True)
    text = STAND_IN_WORKFLOW.format(
        login=uses("azure-login"), checkout=uses("checkout"), upload=uses("upload-artifact")
    )
    (source / workflow).write_text(text)
    repo = rehearsal.make_repo(source, tmp_path / "repo", 1, lambda _: None, plan=None)
    run = act.ActRun(
        repo=repo.path,
        work=tmp_path / "work",
        venv=act.prepared_venv(),
        rollout_home=tmp_path / "home",
        variables={"AZURE_CLIENT_ID": "client", "AZURE_SUBSCRIPTION_ID": "sub"},  # no tenant
        stand_ins=REPO / rehearsal.STAND_INS,
    )
    result = run.run("push", rehearsal.push_event(repo), workflow=workflow, timeout=120)
    assert result.jobs["login"].result == "failure", explain(result)
    assert "tenant-id missing" in "\n".join(result.jobs["login"].log)
    # upload: the first artifact is copied, the second (no file, if-no-files-found: error) fails
    assert (result.artifact("report") / "reports" / "a.xml").read_text().startswith("<testsuite")
    assert result.jobs["upload"].result == "failure"
    assert not result.artifact("nothing").exists()
    run.variables["AZURE_TENANT_ID"] = "tenant"
    result = run.run("push", rehearsal.push_event(repo), workflow=workflow, job="login", timeout=120)
    assert result.jobs["login"].result == "success", explain(result)
    assert result.logins() == [
        {
            "job": "login",
            "client-id": "client",
            "tenant-id": "tenant",
            "subscription-id": "sub",
            "environment": "azurecloud",
        }
    ]
