"""release.yml executed for real, offline: `act` runs its jobs on this machine against the emulator.

One prepared lab (registered versions 1 and 2, the emulator, blue serving version 1) is shared by
the scenarios of this file, in order: a push that leaves the pin alone, then a pin change 1 -> 2.
Bakes are 10 s with 25 probe requests a second (about 125 per deployment, over the plan's min_requests
of 100, without queueing past max_concurrent_requests_per_instance on 2 busy cores); everything stays on loopback.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout import rehearsal
from rollout.rehearsal import Rehearsal, RunResult, parse_act_json, pin_to, touch_plan_comment

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

pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    try:
        rehearsal.find_act()
    except rehearsal.RehearsalError as error:
        pytest.fail(str(error))
    began = time.monotonic()
    prepared = Rehearsal.prepare(REPO, tmp_path_factory.mktemp("rehearsal"), bake="10s", probe_rps=25)
    print(f"rehearsal lab prepared in {time.monotonic() - began:.0f}s")
    yield prepared
    prepared.close()


def explain(result: RunResult) -> str:
    failed = [job for job in result.jobs.values() if job.result == "failure"]
    return result.describe() + "".join(
        f"\n--- {job.job_id} ---\n{result.failure_log(job.job_id)}" for job in failed
    )


def test_a_push_that_does_not_change_the_pin_runs_only_the_gate(lab: Rehearsal) -> None:
    result = lab.push("no-pin-change", 1, touch_plan_comment())
    print(f"no pin change: act ran {result.seconds:.0f}s")
    assert result.returncode == 0, explain(result)
    assert result.jobs["gate"].result == "success", explain(result)
    assert result.jobs["gate"].outputs == {"release": "false"}
    assert "The model pin is still heart-classifier:1" in result.jobs["gate"].summary
    assert {job: outcome for job, outcome in result.results().items() if job != "gate"} == dict.fromkeys(
        [*RELEASE_JOBS[1:], "rollback"], "skipped"
    )
    status = lab.status()
    assert status["traffic"] == {"blue": 100}
    assert [d["name"] for d in status["deployments"]] == ["blue"]


def test_a_pin_change_from_1_to_2_releases_version_2_through_every_stage(lab: Rehearsal) -> None:
    seen: list[tuple[str, str]] = []
    result = lab.push("pin-1-to-2", 1, pin_to(2), on_job=lambda job, outcome: seen.append((job, outcome)))
    print(f"pin change 1 -> 2: act ran {result.seconds:.0f}s; " + ", ".join(f"{j} {o}" for j, o in seen))
    print("job seconds: " + ", ".join(f"{j.job_id} {j.seconds:.0f}" for j in result.jobs.values()))
    assert result.returncode == 0, explain(result)
    assert result.results() == {**dict.fromkeys(RELEASE_JOBS, "success"), "rollback": "skipped"}, explain(
        result
    )
    jobs = result.jobs
    assert jobs["gate"].outputs == {"release": "true"}
    assert jobs["deploy"].outputs == {"live": "blue", "candidate": "green"}
    for stage in ("canary", "half", "full"):
        assert jobs[f"stage-{stage}"].step_outputs["promote"]["verdict"] == "pass"
        assert f"### Stage {stage}: pass" in jobs[f"stage-{stage}"].summary
    # the acceptance suite ran against the candidate and its JUnit report was uploaded
    report = result.artifact("acceptance-report") / "reports" / "acceptance.xml"
    suite = ET.parse(report).getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    assert suite is not None and int(suite.get("tests", 0)) > 0
    assert int(suite.get("failures", 0)) == int(suite.get("errors", 0)) == 0
    assert "| tests | passed |" in jobs["acceptance"].summary
    status = lab.status()
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
    substituted = rehearsal.local_repositories(REPO / rehearsal.STAND_INS)
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
    from rollout.workflow import ACTION_PINS

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
    run = rehearsal.ActRun(
        repo=repo.path,
        work=tmp_path / "work",
        venv=rehearsal.prepared_venv(),
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
