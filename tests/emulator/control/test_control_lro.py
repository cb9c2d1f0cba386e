"""Long-running operations over plain HTTPS, as Azure Resource Manager reports them."""

from __future__ import annotations

import time

import httpx
import pytest

TERMINAL = ("Succeeded", "Failed", "Canceled")


def _wait_for_operation(arm: httpx.Client, url: str, timeout: float = 90.0) -> tuple[list[str], dict]:
    """Poll an Azure-AsyncOperation URL; the statuses seen and the final body."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = arm.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in TERMINAL:
            assert body["percentComplete"] == 100
            return seen, body
        assert 0 <= body["percentComplete"] < 100
        assert int(response.headers["Retry-After-ms"]) > 0
        time.sleep(0.05)
    raise AssertionError(f"operation still running after {timeout} s: {seen}")


def _deployment_body(model: str) -> dict:
    return {
        "location": "local",
        "sku": {"name": "Default", "capacity": 1},
        "properties": {
            "endpointComputeType": "Managed",
            "model": model,
            "instanceType": "Standard_DS3_v2",
            "readinessProbe": {
                "initialDelay": "PT1S",
                "period": "PT1S",
                "timeout": "PT2S",
                "failureThreshold": 30,
            },
            "requestSettings": {"requestTimeout": "PT3S", "maxConcurrentRequestsPerInstance": 2},
        },
    }


@pytest.fixture
def endpoint(emulator, unique_name):
    name = unique_name("lro")
    with emulator.arm() as arm:
        created = arm.put(
            emulator.endpoint_path(name), json={"location": "local", "properties": {"authMode": "Key"}}
        )
        assert created.status_code == 201
        assert created.json()["properties"]["provisioningState"] == "Succeeded"
        status, _ = _wait_for_operation(arm, created.headers["Azure-AsyncOperation"])
        assert status == ["Succeeded"]
        updated = arm.put(
            emulator.endpoint_path(name), json={"location": "local", "properties": {"authMode": "Key"}}
        )
        assert updated.status_code == 200
    yield name
    with emulator.arm() as arm:
        arm.delete(emulator.endpoint_path(name))


def test_deployment_create_and_delete_are_long_running(emulator, registered_models, endpoint):
    path = emulator.deployment_path(endpoint, "blue")
    with emulator.arm() as arm:
        created = arm.put(path, json=_deployment_body(f"azureml:{registered_models.heart}:1"))
        assert created.status_code == 201
        assert created.json()["properties"]["provisioningState"] == "Creating"
        assert created.headers["x-ms-async-operation-timeout"] == "PT1H"
        operation_url = created.headers["Azure-AsyncOperation"]
        assert (
            "/providers/Microsoft.MachineLearningServices/locations/local/mfeOperationsStatus/"
            in operation_url
        )
        assert arm.get(path).json()["properties"]["provisioningState"] == "Creating"

        statuses, final = _wait_for_operation(arm, operation_url)
        assert statuses == ["Creating", "Succeeded"]  # the action while running, as Azure reports it
        assert "endTime" in final and "error" not in final
        deployment = arm.get(path).json()
        assert deployment["properties"]["provisioningState"] == "Succeeded"
        assert deployment["properties"]["requestSettings"]["requestTimeout"] == "PT3S"
        assert deployment["sku"]["capacity"] == 1

        deleted = arm.delete(path)
        assert deleted.status_code == 202
        operation_id = deleted.headers["Azure-AsyncOperation"].split("?")[0].rsplit("/", 1)[1]
        assert f"/mfeOperationResults/{operation_id}?" in deleted.headers["Location"]
        statuses, _ = _wait_for_operation(arm, deleted.headers["Azure-AsyncOperation"])
        assert statuses[-1] == "Succeeded"
        result = arm.get(deleted.headers["Location"])
        assert result.status_code == 204
        missing = arm.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NotFound"


def test_a_failed_deployment_fails_its_operation_with_the_reason(emulator, registered_models, endpoint):
    path = emulator.deployment_path(endpoint, "ghost")
    with emulator.arm() as arm:
        created = arm.put(path, json=_deployment_body(f"azureml:{registered_models.heart}:42"))
        assert created.status_code == 201
        _, final = _wait_for_operation(arm, created.headers["Azure-AsyncOperation"])
        assert final["status"] == "Failed"
        assert final["error"]["code"] == "UserError"
        assert "azureml:heart-classifier:42 was not found" in final["error"]["message"]
        deployment = arm.get(path).json()
        assert deployment["properties"]["provisioningState"] == "Failed"
        assert (
            "azureml:heart-classifier:42 was not found"
            in deployment["properties"]["properties"]["failureReason"]
        )


def test_regenerating_keys_is_long_running_with_a_location(emulator, endpoint):
    with emulator.arm() as arm:
        before = arm.post(f"{emulator.endpoint_path(endpoint)}/listKeys").json()
        accepted = arm.post(
            f"{emulator.endpoint_path(endpoint)}/regenerateKeys", json={"keyType": "Secondary"}
        )
        assert accepted.status_code == 202
        assert arm.get(accepted.headers["Location"]).status_code == 204
        after = arm.post(f"{emulator.endpoint_path(endpoint)}/listKeys").json()
    assert after["primaryKey"] == before["primaryKey"]
    assert after["secondaryKey"] != before["secondaryKey"]


def test_unknown_operations_are_not_found(emulator):
    url = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.MachineLearningServices"
        "/locations/local/mfeOperationsStatus/00000000-0000-0000-0000-00000000abcd"
    )
    with emulator.arm() as arm:
        response = arm.get(url)
    assert response.status_code == 404
    assert "does not exist" in response.json()["error"]["message"]


def test_bad_request_bodies_are_refused_in_azures_shape(emulator, endpoint):
    with emulator.arm() as arm:
        not_json = arm.put(
            emulator.deployment_path(endpoint, "blue"),
            content=b"{nope",
            headers={"Content-Type": "application/json"},
        )
        assert not_json.status_code == 400
        assert not_json.json()["error"]["code"] == "InvalidRequestContent"
        body = _deployment_body("azureml:heart-classifier:1")
        body["properties"]["requestSettings"]["requestTimeout"] = "five seconds"
        bad_duration = arm.put(emulator.deployment_path(endpoint, "blue"), json=body)
        assert bad_duration.status_code == 400
        assert "'requestTimeout' must be an ISO 8601 duration" in bad_duration.json()["error"]["message"]
        body = _deployment_body("azureml:heart-classifier:1")
        body["properties"]["codeConfiguration"] = {"codeId": "x", "scoringScript": "score.py"}
        scripted = arm.put(emulator.deployment_path(endpoint, "blue"), json=body)
        assert scripted.status_code == 400
        assert "The code id 'x' is not of the form" in scripted.json()["error"]["message"]
        body["properties"]["codeConfiguration"] = {"codeId": "azureml:nothing:1"}
        unscripted = arm.put(emulator.deployment_path(endpoint, "blue"), json=body)
        assert unscripted.status_code == 400
        assert "'codeConfiguration.scoringScript' is required" in unscripted.json()["error"]["message"]
        body = _deployment_body("azureml:heart-classifier:1")
        body["properties"]["endpointComputeType"] = "Kubernetes"
        kubernetes = arm.put(emulator.deployment_path(endpoint, "blue"), json=body)
        assert kubernetes.status_code == 400
        assert "compute type 'Kubernetes' is not emulated" in kubernetes.json()["error"]["message"]
