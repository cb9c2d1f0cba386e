"""A release survives the emulator stopped and started in the middle of it.

Green is deployed and the canary stage passed; then `rollout emulator stop` and `rollout emulator
start`. The endpoint comes back on the same scoring URI with its keys, split and release tags; the
instances start again and score; the release goes on with the next stages and retires blue (the
release steps run in this process, as `rollout promote` and `rollout retire` run them).
The emulator is one of the test's own (on the lab's registry): stopping the lab's would disturb the
other release tests.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import httpx
import pytest
from release_lab import FAST_PLAN, REPO, VERSIONS, Lab, make_project

from conftest import RELEASE_TIME_SCALE
from rollout.emulator.control.timing import Timing
from rollout.emulator.host import process
from rollout.project.loading import load_project
from rollout.release.steps import Release


def _wait_until_scoring(uri: str, key: str, deployment: str, ca_file: str, timeout: float = 120) -> None:
    """Wait until the deployment scores the sample request (its instances started again)."""
    body = json.loads((REPO / "samples" / "sample.json").read_text())
    context = ssl.create_default_context(cafile=ca_file)
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.post(
            uri,
            json=body,
            headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": deployment},
            verify=context,
            timeout=30,
        )
        if answer.status_code == 200:
            return
        assert time.monotonic() < deadline, f"{deployment} never scored again: {answer.text}"
        time.sleep(0.5)


# This test is about resuming; latency limits are judged by the other release tests. Here they are
# wide, so that a loaded machine does not fail a stage.
PROBE_RPS = 20
PLAN = {
    **FAST_PLAN,
    "analysis": {**FAST_PLAN["analysis"], "max_p95_latency_ms": 10_000, "max_latency_ratio": 20},
}


@pytest.mark.timeout(600)  # two emulator starts and four instance starts: minutes on busy shared cores
def test_a_release_resumes_after_the_emulator_restarts(lab: Lab, tmp_path: Path) -> None:
    from rollout.azureml.endpoints import set_traffic

    project = make_project(tmp_path / "project", "ep-resumed-release", PLAN)
    own = Lab(tmp_path / "home", lab.registry_uri)
    process.start(own.state_dir, lab.registry_uri, timing=Timing("azure", RELEASE_TIME_SCALE))
    try:
        rel = Release(own.connection(), load_project(project))
        rel.deploy(version=VERSIONS["v1"])
        set_traffic(rel.conn.ml, rel.endpoint_name, {"blue": 100})
        rel.retire()  # blue serves version 1, no release in progress
        rel.deploy(version=VERSIONS["v2"])
        assert rel.promote("canary", probe_rps=PROBE_RPS).verdict.outcome == "pass"
        before = rel.endpoint()
        keys = rel.conn.ml.online_endpoints.get_keys(rel.endpoint_name)
        assert before.tags["rollout.stage"] == "canary" and before.traffic == {"blue": 90, "green": 10}

        stopped = own.rollout("emulator", "stop", cwd=project)
        assert "Stopped the emulator" in stopped.stdout, stopped.stderr
        started = own.rollout(
            "emulator", "start", "--timing", "azure", "--time-scale", str(RELEASE_TIME_SCALE), cwd=project
        )
        assert started.returncode == 0, started.stderr

        resumed = Release(own.connection(), load_project(project))
        after = resumed.endpoint()
        assert after.scoring_uri == before.scoring_uri
        assert (after.tags, after.traffic) == (before.tags, before.traffic)
        again = resumed.conn.ml.online_endpoints.get_keys(rel.endpoint_name)
        assert (again.primary_key, again.secondary_key) == (keys.primary_key, keys.secondary_key)
        running = process.status(own.state_dir)
        assert running is not None and running.running
        for deployment in ("blue", "green"):
            _wait_until_scoring(after.scoring_uri, keys.primary_key, deployment, running.ca_file)

        for stage in ("half", "full"):
            assert resumed.promote(stage, probe_rps=PROBE_RPS).verdict.outcome == "pass"
        resumed.retire()
        status = resumed.status()
        assert status.traffic == {"green": 100}
        assert [d.name for d in status.deployments] == ["green"]
    finally:
        process.stop(own.state_dir)
