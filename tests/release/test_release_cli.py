"""The release commands as a user runs them: real `rollout` processes against the lab's emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from release_lab import VERSIONS, Lab

from github_output_format import parse_github_output
from rollout.release.steps import Release


def one_error_line(result: subprocess.CompletedProcess) -> str:
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
    lab: Lab, live_on_v1: Release, args: list[str], message: str | None
) -> None:
    project = live_on_v1.project.root
    args = [arg.replace("ENDPOINT", live_on_v1.endpoint_name) for arg in args]
    result = lab.rollout(*args, cwd=project)
    if message is None:  # retire without a release: nothing to do, and saying so is not an error
        assert result.returncode == 0, result.stderr
        assert "nothing to retire" in result.stdout
        return
    assert message in one_error_line(result)


def test_missing_project_files(lab: Lab, tmp_path: Path) -> None:
    line = one_error_line(lab.rollout("deploy", "--path", str(tmp_path), cwd=tmp_path))
    assert "deployments/release.yml" in line


def test_promote_writes_github_outputs_and_its_report(lab: Lab, live_on_v1: Release, tmp_path: Path) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {**lab.env(), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    result = subprocess.run(
        [sys.executable, "-m", "rollout", "promote", "--stage", "canary", "--probe-rps", "20", "--json"],
        cwd=live_on_v1.project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["outcome"], verdict["split"]) == ("pass", {"green": 10, "blue": 90})
    assert verdict["numbers"]["candidate_requests"] >= 20
    assert parse_github_output(output.read_text()) == {
        "live": "blue",
        "candidate": "green",
        "verdict": "pass",
    }
    assert not summary.exists()  # the stage's summary is its report, which the workflow writes
    report = lab.rollout("report", "--format", "markdown", "--stage", "canary", cwd=live_on_v1.project.root)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("### Stage canary: pass")
    assert "| traffic before | blue 100% |" in report.stdout
    assert "| traffic after | blue 90%, green 10% |" in report.stdout
    assert "| candidate requests | >= 20 |" in report.stdout


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
    assert rel.endpoint().tags.get("rollout.lock")  # the killed run left its lock behind

    rerun = lab.rollout("promote", "--stage", "canary", "--probe-rps", "20", cwd=rel.project.root)
    assert rerun.returncode == 0, rerun.stderr
    status = rel.status()
    assert (status.traffic, status.stage, status.verdict) == (
        {"blue": 90, "green": 10},
        "canary",
        "canary: pass",
    )
    assert "rollout.lock" not in rel.endpoint().tags


def test_two_concurrent_promotes_one_proceeds_one_is_refused(lab: Lab, live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    command = [sys.executable, "-m", "rollout", "promote", "--stage", "canary", "--probe-rps", "20"]
    runs = [
        subprocess.Popen(
            command,
            cwd=rel.project.root,
            env=lab.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refused = next(stderr for code, stderr in results if code == 1)
    assert "is held by another release" in refused
    assert "Traceback" not in refused


def test_json_outputs_for_automation(lab: Lab, live_on_v1: Release) -> None:
    root, name = live_on_v1.project.root, live_on_v1.endpoint_name
    invoked = lab.rollout(
        "invoke", "--json", "--deployment", "blue", "--request-file", "samples/sample.json", cwd=root
    )
    reply = json.loads(invoked.stdout)
    assert (reply["status"], reply["deployment"], len(reply["body"])) == (200, "blue", 1)
    assert reply["request_id"]
    drained = lab.rollout("traffic", "set", "blue=0", "--json", cwd=root)
    assert json.loads(drained.stdout) == {"endpoint": name, "traffic": {}}, drained.stderr
    split = lab.rollout("traffic", "set", "blue=100", "--json", cwd=root)
    assert split.returncode == 0, split.stderr
    assert json.loads(split.stdout) == {"endpoint": name, "traffic": {"blue": 100}}, split.stderr
    mirror = lab.rollout("mirror", "off", "--json", cwd=root)
    assert json.loads(mirror.stdout) == {"endpoint": name, "mirror_traffic": {}}
    status = json.loads(lab.rollout("status", "--json", cwd=root).stdout)
    assert (status["live"], status["traffic"], status["candidate"]) == ("blue", {"blue": 100}, None)
    validated = lab.rollout("validate", "--json", cwd=root)
    assert json.loads(validated.stdout) == {"valid": True, "problems": [], "notes": []}, validated.stderr


def test_release_runs_acceptance_every_stage_and_retires(lab: Lab, live_on_v1: Release) -> None:
    root = live_on_v1.project.root
    result = lab.rollout(
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
    assert "14 passed" in result.stdout + result.stderr
    for stage in ("canary", "half", "full"):
        assert f"stage {stage}: pass" in result.stdout
    assert "released heart-classifier:2: green is live, blue retired" in result.stdout
    status = live_on_v1.status()
    assert status.traffic == {"green": 100}
    assert [d.name for d in status.deployments] == ["green"]


def test_an_inconclusive_stage_exits_3_and_keeps_the_split(lab: Lab, live_on_v1: Release) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    result = lab.rollout("promote", "--stage", "canary", "--bake", "1s", cwd=live_on_v1.project.root)
    assert result.returncode == 3, result.stderr
    assert "stage canary: inconclusive" in result.stdout
    assert live_on_v1.status().traffic == {"blue": 90, "green": 10}
