"""The azure timing profile: changes are accepted, run for Azure's durations (scaled), and only then apply.

A private emulator runs with `timing=azure, scale=0.02` (endpoint creation 1.8 s, traffic update
0.8 s, deployment creation 9.6 s, deployment deletion 3 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

from emulator_support import EmulatorHandle, start_emulator
from rollout.emulator.control.timing import AZURE_SECONDS, Timing
from rollout.emulator.host import process

SCALE = 0.02
API = {"api-version": "2025-12-01"}
TERMINAL = ("Succeeded", "Failed", "Canceled")


@pytest.fixture(scope="module")
def slow(tmp_path_factory, emulator_registry, registered_models) -> Iterator[EmulatorHandle]:
    state_dir = tmp_path_factory.mktemp("emulator-azure-timing")
    handle = start_emulator(state_dir, emulator_registry.uri, timing=Timing("azure", SCALE))
    try:
        yield handle
    finally:
        process.stop(state_dir)


def _status(arm, url: str) -> dict:
    return arm.get(url).json()


def _wait(arm, url: str, timeout: float = 120.0) -> tuple[list[str], dict]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = _status(arm, url)
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in TERMINAL:
            return seen, body
        time.sleep(0.05)
    raise AssertionError(f"still running: {seen}")


def test_a_traffic_change_reads_updating_with_the_old_split_until_it_completes(slow, registered_models):
    name = "timed-endpoint"
    path = slow.endpoint_path(name)
    with slow.arm() as arm:
        started = time.monotonic()
        created = arm.put(path, params=API, json={"location": "local", "properties": {"authMode": "Key"}})
        assert created.status_code == 201
        assert created.json()["properties"]["provisioningState"] == "Creating"
        running = _status(arm, created.headers["Azure-AsyncOperation"])
        assert running["status"] == "Creating" and 0 <= running["percentComplete"] < 100
        statuses, final = _wait(arm, created.headers["Azure-AsyncOperation"])
        assert statuses[-1] == "Succeeded" and final["percentComplete"] == 100
        assert time.monotonic() - started >= AZURE_SECONDS["endpoint_create"] * SCALE * 0.9

        deployment = slow.deployment_path(name, "blue")
        started = time.monotonic()
        put = arm.put(
            deployment,
            params=API,
            json={
                "location": "local",
                "sku": {"name": "Default", "capacity": 1},
                "properties": {
                    "model": f"azureml:{registered_models.heart}:1",
                    "instanceType": "Standard_DS3_v2",
                    "readinessProbe": {"initialDelay": "PT1S", "period": "PT1S"},
                },
            },
        )
        assert put.status_code == 201
        _wait(arm, put.headers["Azure-AsyncOperation"])
        assert time.monotonic() - started >= AZURE_SECONDS["deployment_create"] * SCALE * 0.9
        assert arm.get(deployment, params=API).json()["properties"]["provisioningState"] == "Succeeded"

        body = arm.get(path, params=API).json()
        body["properties"]["traffic"] = {"blue": 100}
        accepted = arm.put(path, params=API, json=body)
        assert accepted.status_code == 201
        assert accepted.json()["properties"]["provisioningState"] == "Updating"
        assert accepted.json()["properties"]["traffic"] == {}  # the old split, as Azure answers
        assert "/mfeOperationResults/" in accepted.headers["Location"]
        during = arm.get(path, params=API).json()["properties"]
        assert (during["provisioningState"], during["traffic"]) == ("Updating", {})
        key = arm.post(path + "/listKeys", params=API).json()["primaryKey"]
        with slow.https() as http:
            scored = http.post(
                slow.scoring_uri(name),
                json={"input_data": {"columns": ["a"], "data": [[1]]}},
                headers={"Authorization": f"Bearer {key}"},
            )
        assert scored.status_code == 404  # no deployment takes traffic yet
        busy = arm.patch(path, params=API, json={"tags": {"again": "yes"}})
        assert busy.status_code == 409
        assert "another operation is in progress" in busy.json()["error"]["message"]
        statuses, _ = _wait(arm, accepted.headers["Azure-AsyncOperation"])
        assert statuses == ["Updating", "Succeeded"]
        after = arm.get(path, params=API).json()["properties"]
        assert (after["provisioningState"], after["traffic"]) == ("Succeeded", {"blue": 100})

        patched = arm.patch(path, params=API, json={"properties": {"traffic": {}}})
        assert patched.status_code == 202
        assert not patched.content
        assert arm.get(path, params=API).json()["properties"]["traffic"] == {"blue": 100}
        _wait(arm, patched.headers["Azure-AsyncOperation"])
        assert arm.get(path, params=API).json()["properties"]["traffic"] == {}

        started = time.monotonic()
        deleted = arm.delete(deployment, params=API)
        assert deleted.status_code == 202
        assert _status(arm, deleted.headers["Azure-AsyncOperation"])["status"] == "Deleting"
        _wait(arm, deleted.headers["Azure-AsyncOperation"])
        assert time.monotonic() - started >= AZURE_SECONDS["deployment_delete"] * SCALE * 0.9
        arm.delete(path, params=API)


def test_the_sdk_and_the_toolkit_wait_for_the_change(slow, registered_models):
    """MLClient's pollers wait for each operation; the toolkit's update_endpoint then confirms the change."""
    from rollout.azureml.endpoints import set_traffic

    ml = slow.ml_client()
    name = "timed-sdk"
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    assert ml.online_endpoints.get(name).provisioning_state == "Succeeded"
    ml.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue",
            endpoint_name=name,
            model=f"azureml:{registered_models.heart}:1",
            instance_type="Standard_DS3_v2",
            instance_count=1,
        )
    ).result()
    updated = set_traffic(ml, name, {"blue": 100})
    assert updated.traffic == {"blue": 100}
    assert ml.online_endpoints.get(name).traffic == {"blue": 100}
    set_traffic(ml, name, {"blue": 0})
    ml.online_endpoints.begin_delete(name).result()
