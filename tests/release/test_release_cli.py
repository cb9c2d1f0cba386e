"""The release commands as a user runs them against the lab's emulator: real `rollout` processes
where the process matters (exit codes, signals, outputs for the workflows), the same
app in this process where only the command's answer does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from github_output_format import parse_github_output
from labs import Lab, Result
from release_lab import PROBE_RPS, REPO, VERSIONS, lock_holder, make_project, serving_v1
from rollout.azureml.recording.exchanges import read_recording
from rollout.emulator.host.management_token import read_management_token
from rollout.release import history
from rollout.release.history import GATE_NONE, Approval
from rollout.release.steps import Release


@pytest.fixture(scope="module")
def served(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    """An endpoint with blue serving version 1 and all traffic, for commands that change nothing."""
    yield serving_v1(lab, make_project(tmp_path_factory.mktemp("served") / "project", "ep-cli-served"))
    lab.remove_endpoint("ep-cli-served")


def one_error_line(result: subprocess.CompletedProcess | Result) -> str:
    """A user error ends in exactly one `error: ...` line on stderr, a non-zero exit, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["promote", "--stage", "nope"],
            "no stage 'nope' in the release plan (its stages: canary, half, full)",
        ),
        (["traffic", "set", "blue=90 red=10"], "no deployment named red (deployments: blue)"),
        (["traffic", "set", "blue:90"], "malformed traffic 'blue:90'"),
        (["traffic", "set", "blue=60"], "traffic must add up to 0 or 100, not 60"),
        (["mirror", "set", "blue=10"], "blue takes live traffic"),
        (["invoke", "--request-file", "missing.json"], "cannot read missing.json"),
        (
            ["deployment", "delete", "--name", "nope", "--endpoint-name", "ENDPOINT", "--yes"],
            "no deployment nope",
        ),
        (
            ["deployment", "delete", "--name", "blue", "--endpoint-name", "ENDPOINT", "--yes"],
            "still takes 100%",
        ),
        (["endpoint", "apply", "-f", "missing.yml"], "missing.yml: no such file"),
        (["retire"], None),
        (["promote", "--stage", "canary"], "no release in progress: run `rollout deploy` first"),
        (["status", "--target", "mars"], "unknown target 'mars': choose local or azure"),
    ],
)
def test_bad_input_gives_one_clear_line(
    lab: Lab, served: Release, args: list[str], message: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(served.project.root)
    result = lab.in_process(*[arg.replace("ENDPOINT", served.endpoint_name) for arg in args])
    if message is None:  # retire without a release: nothing to do, and saying so is not an error
        assert result.returncode == 0, result.stderr
        assert "nothing to retire" in result.stdout
        return
    assert message in one_error_line(result)
    assert "bake" not in result.stderr  # no progress bar for a stage that never began


def test_a_pin_already_live_and_an_endpoint_not_made_yet_are_answers_not_errors(
    lab: Lab, served: Release, tmp_path: Path
) -> None:
    root, v1 = served.project.root, str(VERSIONS["v1"])
    summary = tmp_path / "summary.md"
    deployed = lab.in_process("deploy", "--version", v1, cwd=root, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert deployed.returncode == 0, deployed.stderr
    assert "heart-classifier:1 is already live in blue" in deployed.stdout
    assert summary.read_text().startswith("### Nothing to deploy")
    as_json = json.loads(lab.in_process("deploy", "--version", v1, "--json", cwd=root).stdout)
    assert (as_json["candidate"], as_json["live"]) == (None, "blue")
    released = lab.in_process("release", "--yes", "--version", v1, cwd=root)
    assert released.returncode == 0, released.stderr
    assert "already live in blue: nothing to release" in released.stdout
    assert served.status().traffic == {"blue": 100}

    missing = make_project(tmp_path / "missing", "ep-cli-not-made-yet")
    said = lab.in_process("status", "--missing-ok", cwd=missing)
    assert (said.returncode, said.stdout.strip()) == (0, "endpoint ep-cli-not-made-yet does not exist yet")
    as_json = json.loads(lab.in_process("status", "--missing-ok", "--json", cwd=missing).stdout)
    assert as_json == {"endpoint": "ep-cli-not-made-yet", "exists": False}
    assert "--bake: " in one_error_line(lab.in_process("release", "--yes", "--bake", "soon", cwd=missing))
    (missing / "deployments" / "green.yml").write_text("name: green\n")
    refused = lab.in_process("release", "--yes", cwd=missing)
    assert refused.returncode != 0 and "nothing was released" in refused.stderr
    assert "ep-cli-not-made-yet" not in [e.name for e in lab.connection().ml.online_endpoints.list()]


def _deploy_under_quota(lab: Lab, root: Path, limit: str, cores: int) -> str:
    """The one `error:` line of `rollout deploy` with the emulator's `limit` (a family, or
    `regional`) set to `cores`; the limit goes back to its default afterwards (tests share it)."""
    state_dir = str(lab.state_dir)
    assert lab.in_process("emulator", "quota", f"{limit}={cores}", "--state-dir", state_dir).returncode == 0
    try:
        return one_error_line(lab.in_process("deploy", "--version", str(VERSIONS["v1"]), cwd=root))
    finally:
        lab.in_process("emulator", "quota", f"{limit}=default", "--state-dir", state_dir)


def test_a_deploy_over_the_quota_creates_nothing(lab: Lab, tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "ep-cli-over-quota")
    blue = root / "deployments" / "blue.yml"
    blue.write_text(blue.read_text().replace("Standard_DS3_v2", "Standard_F4s_v2"))
    line = _deploy_under_quota(lab, root, "standardFSv2Family", 4)
    assert line == (
        "error: not enough quota to deploy blue: standardFSv2Family: 8 cores needed (1 x Standard_F4s_v2, "
        "4 vCPUs, with 20% of instances reserved for upgrades), 0 used of 4, 4 free; request a quota "
        "increase for standardFSv2Family in the workspace's region, or choose a smaller instance_type or "
        "fewer instances (instance_count) in blue's spec"
    )
    assert "ep-cli-over-quota" not in [e.name for e in lab.connection().ml.online_endpoints.list()]


def test_a_deploy_over_the_regional_total_names_it_and_creates_nothing(lab: Lab, tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "ep-cli-over-region")
    usages = lab.connection().ml.compute.list_usage()
    used = next(u.currentValue for u in usages if u.type.endswith("/dedicatedCores/usages"))
    line = _deploy_under_quota(lab, root, "regional", used + 4)  # 4 cores left; hundreds in blue's family
    assert line == (
        "error: not enough quota to deploy blue: regional total: 8 cores needed (1 x Standard_DS3_v2, "
        f"4 vCPUs, with 20% of instances reserved for upgrades), {used} used of {used + 4}, 4 free; request "
        "a regional quota increase (Total Cluster Dedicated Regional vCPUs) in the workspace's region, or "
        "choose a smaller instance_type or fewer instances (instance_count) in blue's spec"
    )
    assert "ep-cli-over-region" not in [e.name for e in lab.connection().ml.online_endpoints.list()]


def test_a_quota_the_deploy_role_cannot_read_is_a_warning_not_a_stop(lab: Lab, tmp_path: Path) -> None:
    from rollout.azureml.connection import Connection
    from rollout.azureml.local_target import LocalTarget, LocalTokenCredential
    from rollout.azureml.vm_quota import QuotaUnknown
    from rollout.emulator.host.identity_grant import RoleGrant, grant
    from rollout.project.loading import load_project
    from rollout.release.capacity import check_capacity
    from rollout.release.context import ReleaseContext

    role = RoleGrant(REPO / ".github" / "roles" / "rollout-deploy.json", None)  # on the resource group
    token = grant(lab.state_dir, str(uuid.uuid4()), [role])

    class AsTheDeployJob(LocalTarget):
        @staticmethod
        def _credential(running: object) -> LocalTokenCredential:
            return LocalTokenCredential(token)

    said: list[str] = []
    project = load_project(make_project(tmp_path / "project", "ep-cli-quota-unread"))
    ctx = ReleaseContext(Connection(AsTheDeployJob(lab.state_dir)), project, said.append)
    assert isinstance(check_capacity(ctx, "blue", None), QuotaUnknown)
    assert len(said) == 1 and said[0].startswith("warning: cannot read the quota for Standard_DS3_v2 (")
    assert "locations/vmSizes/read" in said[0] and said[0].endswith("); deploying unchecked")


def test_missing_project_files(lab: Lab, tmp_path: Path) -> None:
    line = one_error_line(lab.rollout("deploy", "--path", str(tmp_path), cwd=tmp_path))
    assert "deployments/release.yml" in line


def test_promote_writes_github_outputs_and_its_report(lab: Lab, live_on_v1: Release, tmp_path: Path) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    github = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    root = live_on_v1.project.root
    result = lab.in_process(
        "promote", "--stage", "canary", "--probe-rps", str(PROBE_RPS), "--json", cwd=root, env=github
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["outcome"], verdict["split"]) == ("pass", {"green": 10, "blue": 90})
    assert verdict["numbers"]["candidate_requests"] >= 10
    assert parse_github_output(output.read_text()) == {
        "live": "blue",
        "candidate": "green",
        "verdict": "pass",
    }
    assert not summary.exists()  # the stage's summary is its report, which the workflow writes
    page = tmp_path / "reports" / "release.html"
    report = lab.in_process(
        "report", "--format", "markdown", "--stage", "canary", "--html", str(page), cwd=root
    )
    assert report.returncode == 0, report.stderr
    assert page.read_text().startswith("<!doctype html>") and "canary" in page.read_text()
    assert report.stdout.startswith("### Release `heart-classifier:2@green` at a glance\n")
    assert "\n### Stage canary: pass\n" in report.stdout
    assert "| traffic before | blue 100% |" in report.stdout
    assert "| traffic after | blue 90%, green 10% |" in report.stdout
    assert "| candidate requests | >= 10 |" in report.stdout


def test_a_stage_killed_half_way_finishes_when_run_again(lab: Lab, live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    killed = subprocess.Popen(
        [sys.executable, "-m", "rollout", "promote", "--stage", "canary", "--bake", "60s"],
        cwd=rel.project.root,
        env=lab.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while rel.status().traffic != {"blue": 90, "green": 10}:
        assert time.monotonic() < deadline, "the stage never set its split"
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    left = lock_holder(rel)  # the killed run left its lease behind, to run out
    assert left is not None and left.pid == killed.pid and left.gone_from_here()

    rerun = lab.in_process(
        "promote", "--stage", "canary", "--probe-rps", str(PROBE_RPS), cwd=rel.project.root
    )
    assert rerun.returncode == 0, rerun.stderr
    status = rel.status()
    assert (status.traffic, status.stage, status.verdict) == (
        {"blue": 90, "green": 10},
        "canary",
        "canary: pass",
    )
    said = " ".join(rerun.stderr.split())
    assert f"(pid {killed.pid}), whose process no longer runs: waiting for its lease to run out" in said
    assert lock_holder(rel) is None


def test_json_outputs_for_automation(lab: Lab, live_on_v1: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    name = live_on_v1.endpoint_name
    monkeypatch.chdir(live_on_v1.project.root)
    invoked = lab.in_process(
        "invoke", "--json", "--deployment", "blue", "--request-file", "samples/sample.json"
    )
    reply = json.loads(invoked.stdout)
    assert (reply["status"], reply["deployment"], len(reply["body"])) == (200, "blue", 1)
    assert reply["request_id"]
    drained = lab.in_process("traffic", "set", "blue=0", "--json")
    assert json.loads(drained.stdout) == {"endpoint": name, "traffic": {}}, drained.stderr
    split = lab.in_process("traffic", "set", "blue=100", "--json")
    assert split.returncode == 0, split.stderr
    assert json.loads(split.stdout) == {"endpoint": name, "traffic": {"blue": 100}}, split.stderr
    mirror = lab.in_process("mirror", "off", "--json")
    assert json.loads(mirror.stdout) == {"endpoint": name, "mirror_traffic": {}}
    status = json.loads(lab.in_process("status", "--json").stdout)
    assert (status["live"], status["traffic"], status["candidate"]) == ("blue", {"blue": 100}, None)
    validated = lab.in_process("validate", "--json")
    assert json.loads(validated.stdout) == {"valid": True, "problems": [], "notes": []}, validated.stderr


def test_release_runs_acceptance_every_stage_and_retires(
    lab: Lab, live_on_v1: Release, tmp_path: Path
) -> None:
    root = live_on_v1.project.root
    recording = tmp_path / "recording"
    result = lab.rollout(
        "--record",
        str(recording),
        "release",
        "--yes",
        "--version",
        str(VERSIONS["v2"]),
        "--bake",
        "2s",
        "--probe-rps",
        "40",
        cwd=root,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "acceptance suite against green" in result.stderr
    # every case of the acceptance suite ran and passed, the comparison with live included
    (summary,) = [line for line in (result.stdout + result.stderr).splitlines() if " passed" in line]
    assert "14 passed" in summary and "skipped" not in summary, summary
    for stage in ("canary", "half", "full"):
        assert f"stage {stage}: pass" in result.stdout
    assert "released heart-classifier:2: green is live, blue retired" in result.stdout
    # --yes asked nobody before each stage, and each stage's record says so
    stages = [e for e in history.read(live_on_v1.endpoint_name) if e.step == "stage"][-3:]
    assert [(e.name, e.approval) for e in stages] == [
        (name, Approval(GATE_NONE, environment=environment))
        for name, environment in (("canary", "canary"), ("half", "production-half"), ("full", "production"))
    ]
    status = live_on_v1.status()
    assert status.traffic == {"green": 100}
    assert [d.name for d in status.deployments] == ["green"]
    # --record saved the release's exchanges, its acceptance suite's among them (the malformed
    # requests it sends are refused with a 4xx), with none of the keys or the token they used
    exchanges = read_recording(recording)
    assert any(400 <= e.status < 500 for e in exchanges if e.client == "scoring")
    assert {"PUT", "DELETE"} <= {e.method for e in exchanges if e.client == "arm"}
    keys = lab.connection().ml.online_endpoints.get_keys(live_on_v1.endpoint_name)
    written = "".join(path.read_text() for path in recording.glob("*.jsonl"))
    for secret in (keys.primary_key, keys.secondary_key, read_management_token(lab.state_dir)):
        assert secret not in written


def test_an_inconclusive_stage_exits_3_and_keeps_the_split(
    lab: Lab, live_on_v1: Release, monkeypatch: pytest.MonkeyPatch
) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    monkeypatch.chdir(live_on_v1.project.root)
    # as the workflow runs a traffic stage: a shorter bake than the plan's (2s) does not apply
    result = lab.in_process("promote", "--stage", "canary", "--bake", "1s", "--plan-bake-minimum")
    assert result.returncode == 3, result.stderr
    assert "stage canary: inconclusive" in result.stdout
    assert "stage canary bakes 2 s, the plan's bake: a shorter one (1 s) does not apply" in " ".join(
        result.stderr.split()
    )
    assert live_on_v1.status().traffic == {"blue": 90, "green": 10}


def test_a_safety_net_rolls_back_only_its_own_runs_release(
    lab: Lab, live_on_v1: Release, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = live_on_v1.project.root
    deployed = lab.in_process(
        "deploy", "--version", str(VERSIONS["v2"]), cwd=root, env={"GITHUB_RUN_ID": "101"}
    )
    assert deployed.returncode == 0, deployed.stderr
    before = live_on_v1.status()

    # a re-run of an older run's safety net (it keeps its run's id) finds run 101's release
    old = lab.in_process("rollback", "--force-lock", "--own-run", "100", cwd=root)
    assert old.returncode == 0, old.stderr
    assert old.stdout.strip() == (
        "the release in progress (heart-classifier:2 into green) was deployed by run 101, not by run 100:"
        " its safety net changes nothing"
    )
    # run 101's own safety net, while another run holds the lock (its --force-lock would break it)
    monkeypatch.setenv("GITHUB_RUN_ID", "202")
    with live_on_v1.lock("stage canary"):
        locked = lab.in_process("rollback", "--force-lock", "--own-run", "101", cwd=root)
        holder = lock_holder(live_on_v1)
    assert holder is not None and holder.run == "202"
    assert locked.returncode == 0, locked.stderr
    assert locked.stdout.startswith("the release lock is held by GitHub run 202 of ")
    after = live_on_v1.status()
    assert (after.candidate, after.verdict, after.traffic) == (
        before.candidate,
        before.verdict,
        before.traffic,
    )

    # once the lock is free, run 101's safety net closes its release as rolled back
    rolled = lab.in_process("rollback", "--force-lock", "--own-run", "101", cwd=root)
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == "rolled back: all traffic to blue"
    assert live_on_v1.status().verdict == "rolled back"
