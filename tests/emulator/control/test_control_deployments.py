"""Deployments through the real azure-ai-ml MLClient: lifecycle, provisioning states, logs, failures,
limits."""

from __future__ import annotations

import time

import pytest
from azure.ai.ml.entities import (
    ManagedOnlineDeployment,
    OnlineRequestSettings,
    ProbeSettings,
)
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError


def _deployment(endpoint: str, name: str, model: str, **overrides) -> ManagedOnlineDeployment:
    settings = {
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        "request_settings": OnlineRequestSettings(
            request_timeout_ms=3000, max_concurrent_requests_per_instance=2
        ),
        "readiness_probe": ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=30),
        "liveness_probe": ProbeSettings(initial_delay=5, period=5, timeout=2, failure_threshold=3),
        **overrides,
    }
    return ManagedOnlineDeployment(name=name, endpoint_name=endpoint, model=model, **settings)


def test_deployment_lifecycle(ml_client, registered_models, endpoint):
    model = f"azureml:{registered_models.heart}:1"
    poller = ml_client.online_deployments.begin_create_or_update(
        _deployment(endpoint, "Blue", model, environment_variables={"ROLLOUT_TEST": "1"})
    )
    # Instances take at least the readiness probe's initial delay (1 s) to be ready.
    assert ml_client.online_deployments.get("blue", endpoint).provisioning_state == "Creating"
    created = poller.result()
    assert (created.name, created.provisioning_state) == ("blue", "Succeeded")

    got = ml_client.online_deployments.get("blue", endpoint)
    assert got.model.endswith("/workspaces/local/models/heart-classifier/versions/1")
    assert (got.instance_type, got.instance_count) == ("Standard_DS3_v2", 1)
    assert got.request_settings.request_timeout_ms == 3000
    assert got.request_settings.max_concurrent_requests_per_instance == 2
    assert (got.readiness_probe.initial_delay, got.readiness_probe.period) == (1, 1)
    assert (got.liveness_probe.period, got.liveness_probe.failure_threshold) == (5, 3)
    assert got.environment_variables == {"ROLLOUT_TEST": "1"}
    assert [d.name for d in ml_client.online_deployments.list(endpoint)] == ["blue"]
    assert ml_client.online_endpoints.get(endpoint).traffic == {"blue": 0}

    notes = ml_client.online_deployments.get_logs(
        "blue", endpoint, lines=50, container_type="storage-initializer"
    )
    assert "azureml:heart-classifier:1 resolved to models:/heart-classifier/1" in notes
    logs = ml_client.online_deployments.get_logs("blue", endpoint, lines=200)
    assert "models:/heart-classifier/1" in logs and "scikit-learn==1.9.1" in logs

    poller = ml_client.online_deployments.begin_create_or_update(
        _deployment(endpoint, "blue", f"azureml:{registered_models.heart}:2", instance_count=2)
    )
    assert ml_client.online_deployments.get("blue", endpoint).provisioning_state == "Updating"
    updated = poller.result()
    assert (updated.provisioning_state, updated.instance_count) == ("Succeeded", 2)
    assert ml_client.online_deployments.get("blue", endpoint).model.endswith("/heart-classifier/versions/2")

    ml_client.online_deployments.begin_delete("blue", endpoint).result()
    with pytest.raises(ResourceNotFoundError, match="Deployment 'blue' does not exist"):
        ml_client.online_deployments.get("blue", endpoint)
    assert list(ml_client.online_deployments.list(endpoint)) == []


def test_a_missing_model_version_fails_the_deployment_with_the_reason_in_its_logs(
    ml_client, registered_models, endpoint
):
    with pytest.raises(HttpResponseError, match="azureml:heart-classifier:99 was not found") as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "ghost", f"azureml:{registered_models.heart}:99")
        ).result()
    assert raised.value.error.code == "UserError"
    failed = ml_client.online_deployments.get("ghost", endpoint)
    assert failed.provisioning_state == "Failed"
    for container in ("storage-initializer", "inference-server"):
        logs = ml_client.online_deployments.get_logs("ghost", endpoint, lines=20, container_type=container)
        assert "no ready version 99 of model 'heart-classifier'" in logs


def test_a_model_that_cannot_load_fails_the_deployment(ml_client, registered_models, endpoint):
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(
                endpoint, "broken", f"azureml:{registered_models.broken}:{registered_models.broken_version}"
            )
        ).result()
    assert raised.value.error.code == "ResourceNotReady"
    assert ml_client.online_deployments.get("broken", endpoint).provisioning_state == "Failed"
    logs = ml_client.online_deployments.get_logs("broken", endpoint, lines=100)
    assert "rollout_test_missing_loader_module" in logs


def test_deployment_rules(ml_client, registered_models, endpoint):
    # A deployment whose model version does not exist fails fast; it is enough to exercise the rules.
    missing = f"azureml:{registered_models.heart}:98"
    with pytest.raises(HttpResponseError):
        ml_client.online_deployments.begin_create_or_update(_deployment(endpoint, "rules", missing)).result()

    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "rules", missing, instance_type="Standard_F4s_v2")
        )
    assert (raised.value.status_code, raised.value.error.code) == (400, "BadArgument")
    assert "instance_type of deployment 'rules' cannot change from Standard_DS3_v2 to Standard_F4s_v2" in str(
        raised.value
    )

    slow = OnlineRequestSettings(request_timeout_ms=180_001)
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "slow", missing, request_settings=slow)
        )
    assert raised.value.status_code == 400
    assert "request_timeout_ms of deployment 'slow' is 180001; it must be between 1 and 180000 ms" in str(
        raised.value
    )

    with pytest.raises(ResourceNotFoundError, match="Online endpoint 'no-such-endpoint' does not exist"):
        ml_client.online_deployments.begin_create_or_update(_deployment("no-such-endpoint", "blue", missing))


def test_deployment_for_a_missing_endpoint_over_https(emulator):
    with emulator.arm() as arm:
        response = arm.put(
            emulator.deployment_path("no-such-endpoint", "blue"), json=_rest_body("azureml:x:1")
        )
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "NotFound",
        "message": "Online endpoint 'no-such-endpoint' does not exist in this workspace.",
        "details": [],
    }


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ab", "is 2 characters long; it must be 3 to 32 characters"),
        ("a" * 33, "is 33 characters long; it must be 3 to 32 characters"),
        ("1blue", "must start with a letter"),
        ("blue-", "end with a letter or digit"),
        ("blue_green", "contain only letters, digits and dashes"),
    ],
)
def test_name_rules(emulator, endpoint, name, reason):
    with emulator.arm() as arm:
        for path, kind in (
            (emulator.endpoint_path(name), "endpoint"),
            (emulator.deployment_path(endpoint, name), "deployment"),
        ):
            body = _rest_body("azureml:heart-classifier:1") if kind == "deployment" else {"properties": {}}
            response = arm.put(path, json=body)
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == "BadArgument"
            assert error["message"].startswith(
                f"The {kind} name '{name.lower() if kind == 'deployment' else name}'"
            )
            assert reason in error["message"]


def test_deployment_names_are_lower_cased(emulator, endpoint):
    with emulator.arm() as arm:
        created = arm.put(emulator.deployment_path(endpoint, "MixedCase"), json=_rest_body("azureml:x:1"))
        assert created.status_code == 201
        assert created.json()["name"] == "mixedcase"
        assert arm.get(emulator.deployment_path(endpoint, "mixedcase")).status_code == 200


def test_at_most_twenty_deployments_per_endpoint(emulator, endpoint):
    with emulator.arm() as arm:
        for index in range(20):
            response = arm.put(
                emulator.deployment_path(endpoint, f"d{index:02d}"), json=_rest_body("azureml:x:1")
            )
            assert response.status_code == 201, response.text
        refused = arm.put(emulator.deployment_path(endpoint, "d20"), json=_rest_body("azureml:x:1"))
        assert refused.status_code == 400
        assert refused.json()["error"] == {
            "code": "OutOfQuota",
            "message": f"Endpoint '{endpoint}' already has 20 deployments; the limit is 20 per endpoint. "
            "Delete unused deployments or request an endpoint limit increase.",
            "details": [],
        }
        # Updating one of the twenty is still allowed.
        assert (
            arm.put(emulator.deployment_path(endpoint, "d00"), json=_rest_body("azureml:x:2")).status_code
            == 200
        )


def test_a_deployment_with_live_or_mirrored_traffic_cannot_be_deleted(ml_client, registered_models, endpoint):
    missing = f"azureml:{registered_models.heart}:97"
    for name in ("live", "shadow"):
        with pytest.raises(HttpResponseError):
            ml_client.online_deployments.begin_create_or_update(_deployment(endpoint, name, missing)).result()
    current = ml_client.online_endpoints.get(endpoint)
    current.traffic = {"live": 100}
    current.mirror_traffic = {"shadow": 10}
    ml_client.online_endpoints.begin_create_or_update(current).result()

    with pytest.raises(ResourceExistsError) as raised:
        ml_client.online_deployments.begin_delete("live", endpoint)
    assert raised.value.status_code == 409
    assert "Deployment 'live' still takes 100% of the live traffic" in str(raised.value)
    with pytest.raises(ResourceExistsError, match="Deployment 'shadow' still receives 10% mirrored traffic"):
        ml_client.online_deployments.begin_delete("shadow", endpoint)

    current = ml_client.online_endpoints.get(endpoint)
    current.traffic = {"live": 0}
    current.mirror_traffic = {}
    ml_client.online_endpoints.begin_create_or_update(current).result()
    for name in ("live", "shadow"):
        ml_client.online_deployments.begin_delete(name, endpoint).result()
    assert list(ml_client.online_deployments.list(endpoint)) == []


def _rest_body(model: str) -> dict:
    """A deployment PUT body as azure-ai-ml sends it (whose model need not exist: rules come first)."""
    return {
        "location": "local",
        "sku": {"name": "Default", "capacity": 1},
        "properties": {"endpointComputeType": "Managed", "model": model, "instanceType": "Standard_DS3_v2"},
    }


def test_a_packaged_model_is_recorded_and_deployed(emulator, registered_models, endpoint):
    """`package_model=True`: the SDK packages the version (an LRO), then deploys the environment it became."""
    package_path = f"{emulator.workspace_path}/models/{registered_models.heart}/versions/1/package"
    request = {"targetEnvironmentName": "packaged-env", "inferencingServer": {"serverType": "AzureMLOnline"}}
    with emulator.arm() as arm:
        assert (
            arm.post(package_path.replace("/versions/1/", "/versions/55/"), json=request).status_code == 404
        )
        packaged = arm.post(package_path, json=request)
        assert packaged.status_code == 202
        assert arm.get(packaged.headers["Location"]).status_code == 204
        environment = packaged.json()["targetEnvironmentId"]
        assert environment.startswith(f"{emulator.workspace_path}/environments/packaged-env/versions/")

        body = _rest_body("unused")
        del body["properties"]["model"]
        body["properties"]["environmentId"] = environment
        body["properties"]["readinessProbe"] = {"initialDelay": "PT1S", "period": "PT1S"}
        created = arm.put(emulator.deployment_path(endpoint, "packaged"), json=body)
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 90
        state = created.json()["properties"]["provisioningState"]
        while state == "Creating" and time.monotonic() < deadline:
            time.sleep(0.1)
            state = arm.get(emulator.deployment_path(endpoint, "packaged")).json()["properties"][
                "provisioningState"
            ]
        deployment = arm.get(emulator.deployment_path(endpoint, "packaged")).json()
    assert deployment["properties"]["provisioningState"] == "Succeeded"
    assert deployment["properties"]["environmentId"] == environment
    assert deployment["properties"]["model"] is None
    assert deployment["properties"]["properties"] == {
        "modelUri": "models:/heart-classifier/1",
        "packageModel": "true",
    }
