"""A whole release with `--target azure`, against the emulator presented as an Azure cloud.

Every command is the real CLI in its own process: azure-ai-ml resolves the cloud from its metadata
document, DefaultAzureCredential gets its tokens from (the stand-in) `az`, models are registered in
the workspace's MLflow registry through azureml-mlflow, the acceptance suite reads the candidate's
signature from there, and every stage is judged on Azure Monitor metrics read with
azure-monitor-query. Nothing in rollout knows it talks to an emulator.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud_lab import CloudLab
from model_cache import ModelCache
from release_lab import FAST_PLAN, PROBE_RPS, make_project
from rollout.azureml.azure_monitor import CAVEAT
from rollout.azureml.metrics_sources import WindowStats
from rollout.project.samples import request_files

BAKE = "2s"
# two traffic stages: a canary (where the failing candidate is caught) and all traffic
PLAN = {**FAST_PLAN, "stages": [FAST_PLAN["stages"][0], FAST_PLAN["stages"][-1]]}
MONITOR_ROUTE = "/providers/Microsoft.Insights/metrics HTTP/"  # as the access log has it: no query

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_a_release_on_the_azure_target_runs_end_to_end(
    cloud_lab: CloudLab, model_cache: ModelCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    project = make_project(
        tmp_path / "project", "ep-azure-release", {**PLAN, "lock": cloud_lab.lock_settings}
    )
    azure = ("--target", "azure")

    # models: version 1 trained and registered in the workspace's registry; directories (version 2,
    # and the demo model wrapped to fail every third request) registered
    trained = json.loads(
        ok(cloud_lab.rollout("model", "train", "--variant", "1", "--json", *azure, cwd=project))
    )
    assert trained["version"] == 1
    for version, path in ((2, model_cache.demo(2)), (3, model_cache.faulty("flaky"))):
        registered = cloud_lab.rollout(
            "model",
            "register",
            "--name",
            "heart-classifier",
            "--path",
            str(path),
            "--json",
            *azure,
            cwd=project,
        )
        assert json.loads(ok(registered)) == {"name": "heart-classifier", "version": version}

    # the first release: version 1 takes all traffic (no live deployment to compare with)
    first = ok(
        cloud_lab.rollout(
            "release",
            "--yes",
            "--version",
            "1",
            "--skip-acceptance",
            "--bake",
            BAKE,
            "--probe-rps",
            str(PROBE_RPS),
            *azure,
            cwd=project,
        )
    )
    assert "released heart-classifier:1: blue is live" in first

    # the second: deploy, the acceptance suite on Azure, every stage judged on Azure Monitor, retire
    second = ok(
        cloud_lab.rollout(
            "release",
            "--yes",
            "--version",
            "2",
            "--bake",
            BAKE,
            "--probe-rps",
            str(PROBE_RPS),
            *azure,
            cwd=project,
        )
    )
    assert re.search(r"^\d+ passed", second, re.MULTILINE), second  # the acceptance suite
    for stage in ("canary", "full"):
        assert f"stage {stage}: pass" in second
    assert second.count(f"note: {CAVEAT}") == 2
    assert "released heart-classifier:2: green is live, blue retired" in second

    # a failing candidate: rolled back on Azure Monitor's numbers
    ok(cloud_lab.rollout("deploy", "--version", "3", *azure, cwd=project))
    since = datetime.now(UTC)
    promoted = cloud_lab.rollout(
        "promote",
        "--stage",
        "canary",
        "--bake",
        "4s",
        "--probe-rps",
        str(PROBE_RPS),
        "--json",
        *azure,
        cwd=project,
    )
    assert promoted.returncode == 1, promoted.stderr
    verdict = json.loads(promoted.stdout)
    assert (verdict["outcome"], verdict["rolled_back"]) == ("fail", True)
    assert CAVEAT in verdict["notes"]
    assert verdict["numbers"]["candidate_errors"] > 0
    status = json.loads(ok(cloud_lab.rollout("status", "--json", *azure, cwd=project)))
    assert (status["traffic"], status["live"], status["candidate"]) == ({"green": 100}, "green", "blue")
    assert status["verdict"] == "canary: fail"

    # the preflight on the azure target: DefaultAzureCredential's chain answered by the Azure CLI
    doctor = json.loads(ok(cloud_lab.rollout("doctor", "--json", *azure, cwd=project)))
    lines = {(check["area"], check["subject"]): check for check in doctor["checks"]}
    assert doctor["healthy"] and all(check["ok"] for check in doctor["checks"])
    credential = lines["credential", "DefaultAzureCredential (AzureCliCredential)"]
    assert "answered for cloud" in credential["detail"]
    assert lines["slot", "-"]["detail"] == "no slot is idle: a release is in progress"
    assert lines["metrics", "Azure Monitor"]["ok"]

    # the verdict's numbers are Azure Monitor's: since the command began, Monitor holds the window
    # plus the smoke requests sent to the candidate before traffic moved
    numbers = verdict["numbers"]
    monitor = monitor_counts(cloud_lab, "ep-azure-release", since, monkeypatch)
    smoke = len(request_files(project / "samples"))  # every sample, once, to the candidate
    assert monitor["blue"].requests == numbers["candidate_requests"] + smoke
    assert monitor["blue"].errors == numbers["candidate_errors"]
    assert monitor["green"].requests == numbers["live_requests"]
    served = [line for line in cloud_lab.emulator_log().splitlines() if MONITOR_ROUTE in line]
    assert served and all(" 200" in line for line in served)
    assert "sig=" not in cloud_lab.emulator_log()  # the model's blob URLs were logged without their SAS

    deploy_role_cannot_touch_the_live_deployment(cloud_lab, project, tmp_path)

    # `rollout rehearse --target azure` reads its versions from the workspace's registry (through
    # azureml-mlflow and the Azure CLI's token): live version 2 is found there, a version the
    # workspace never had is named before anything is copied or started
    rehearsed = cloud_lab.rollout("rehearse", "--version", "9", "--live", "2", *azure, cwd=project)
    assert rehearsed.returncode == 1, rehearsed.stdout
    assert rehearsed.stderr.splitlines()[-1].startswith(
        "error: model heart-classifier version 9 is not in the registry at azureml://"
    ), rehearsed.stderr
    assert "version 2 " not in rehearsed.stderr

    # every token came from the Azure CLI, for the cloud's resource manager and, for the release
    # lock's lease, Azure Storage
    calls = cloud_lab.az_calls()
    resource = cloud_lab.env["ARM_CLOUD_METADATA_URL"].split("/metadata/")[0]
    assert calls and all(call["ok"] for call in calls)
    asked = ("account", "get-access-token", "--output", "json", "--resource")
    assert {tuple(call["argv"]) for call in calls} == {
        (*asked, resource),
        (*asked, "https://storage.azure.com"),
    }
    steps = ", ".join(f"{command} {seconds:.0f}s" for command, seconds in cloud_lab.timings)
    print(f"azure release end to end: {time.monotonic() - began:.0f} s ({steps})")


def deploy_role_cannot_touch_the_live_deployment(cloud_lab: CloudLab, project: Path, tmp_path: Path) -> None:
    """As the deploy job's identity (.github/roles/rollout-deploy.json only), with green live at 100%
    and blue the candidate at 0%: rollout refuses to update or delete green before sending anything,
    and the emulator refuses the endpoint write that would move traffic (403), the split unchanged."""
    token = tmp_path / "deploy.token"
    role = f"{REPO / '.github' / 'roles' / 'rollout-deploy.json'}"
    granted = ["emulator", "identity", str(uuid.uuid4()), "--role", role, "--token-file", str(token)]
    ok(cloud_lab.rollout(*granted, "--state-dir", str(cloud_lab.state_dir), cwd=project))
    deploy = {"ROLLOUT_AZ_TOKEN_FILE": str(token)}
    azure = ("--target", "azure")
    writes_to_green = re.compile(r"\b(PUT|PATCH|DELETE) \S*/deployments/green HTTP/")
    sent_before = len(writes_to_green.findall(cloud_lab.emulator_log()))
    assert sent_before >= 1  # the release created green: its PUT is in the access log

    updated = cloud_lab.rollout(
        "deployment", "create", "-f", "deployments/green.yml", *azure, cwd=project, env=deploy
    )
    deleted = cloud_lab.rollout(
        "deployment",
        "delete",
        "-n",
        "green",
        "-e",
        "ep-azure-release",
        "--yes",
        *azure,
        cwd=project,
        env=deploy,
    )
    moved = cloud_lab.rollout("traffic", "set", "blue=100", *azure, cwd=project, env=deploy)

    assert (
        updated.returncode == 1
        and "error: green takes 100% of the traffic of ep-azure-release" in updated.stderr
    )
    assert deleted.returncode == 1 and "error: green still takes 100% of traffic" in deleted.stderr
    assert len(writes_to_green.findall(cloud_lab.emulator_log())) == sent_before  # nothing was sent
    # ARM's 403 AuthorizationFailed, as one line naming the action
    write = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write"
    assert moved.returncode == 1 and moved.stderr.startswith("error: endpoint ep-azure-release: The client '")
    assert f"does not have authorization to perform action '{write}'" in moved.stderr
    assert "Traceback" not in moved.stderr
    status = json.loads(ok(cloud_lab.rollout("status", "--json", *azure, cwd=project)))
    assert (status["traffic"], status["live"], status["candidate"]) == ({"green": 100}, "green", "blue")


def monitor_counts(
    cloud_lab: CloudLab, endpoint: str, since: datetime, monkeypatch: pytest.MonkeyPatch
) -> dict[str, WindowStats]:
    """The endpoint's Azure Monitor numbers since `since`, read as a user of the cloud reads them."""
    from rollout.azureml.azure_monitor import AzureMonitorMetrics
    from rollout.azureml.azure_target import AzureTarget

    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in cloud_lab.env.items():
        monkeypatch.setenv(name, value)
    target = AzureTarget()
    resource_id = target.ml_client().online_endpoints.get(endpoint).id
    return AzureMonitorMetrics(resource_id, target.credential(), target.endpoints, since=since).snapshot(
        endpoint
    )
