"""Partial updates (PATCH) of endpoints and deployments, list skus, and the fields Azure returns that
the SDK's happy path does not need (swaggerUri and its document, compute, identity, inner properties),
over plain HTTPS with api-version 2025-12-01 (the instant timing profile: changes complete at once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

API = {"api-version": "2025-12-01"}


def _deployment_body(model: str, capacity: int = 1) -> dict:
    return {
        "location": "local",
        "sku": {"name": "Default", "capacity": capacity},
        "properties": {
            "endpointComputeType": "Managed",
            "model": model,
            "instanceType": "Standard_DS3_v2",
            "readinessProbe": {"initialDelay": "PT1S", "period": "PT1S", "timeout": "PT2S"},
        },
    }


@pytest.fixture(scope="module")
def endpoint(emulator, registered_models, unique_name) -> Iterator[str]:
    """An endpoint with two ready deployments of the heart classifier, all traffic on blue."""
    name = unique_name("patch")
    with emulator.arm() as arm:
        assert (
            arm.put(emulator.endpoint_path(name), params=API, json={"location": "local"}).status_code == 201
        )
        for deployment in ("blue", "green"):
            created = arm.put(
                emulator.deployment_path(name, deployment),
                params=API,
                json=_deployment_body(f"azureml:{registered_models.heart}:1"),
            )
            assert created.status_code == 201, created.text
        for deployment in ("blue", "green"):
            _wait_state(arm, emulator.deployment_path(name, deployment), "Succeeded")
        patched = arm.patch(
            emulator.endpoint_path(name), params=API, json={"properties": {"traffic": {"blue": 100}}}
        )
        assert patched.status_code == 200, patched.text
    yield name
    with emulator.arm() as arm:
        arm.patch(emulator.endpoint_path(name), params=API, json={"properties": {"traffic": {}}})
        arm.delete(emulator.endpoint_path(name), params=API)


def _wait_state(arm, path: str, state: str, timeout: float = 120.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = arm.get(path, params=API).json()
        if body["properties"]["provisioningState"] == state:
            return body
        assert body["properties"]["provisioningState"] != "Failed", body
        time.sleep(0.1)
    raise AssertionError(f"{path} never reached {state}")


def test_patch_changes_traffic_and_keeps_what_it_does_not_name(emulator, endpoint):
    with emulator.arm() as arm:
        path = emulator.endpoint_path(endpoint)
        assert arm.patch(path, params=API, json={"tags": {"stage": "canary"}}).status_code == 200
        patched = arm.patch(path, params=API, json={"properties": {"traffic": {"blue": 90, "green": 10}}})
        assert patched.status_code == 200
        body = patched.json()
        assert body["properties"]["traffic"] == {"blue": 90, "green": 10}
        assert body["tags"] == {"stage": "canary"}  # a PATCH without tags keeps them
        assert arm.get(path, params=API).json()["properties"]["traffic"] == {"blue": 90, "green": 10}
        back = arm.patch(path, params=API, json={"properties": {"traffic": {"blue": 100}}})
        assert back.json()["properties"]["traffic"] == {"blue": 100}


def test_patch_changes_identity_and_mirror_traffic(emulator, endpoint):
    with emulator.arm() as arm:
        path = emulator.endpoint_path(endpoint)
        body = arm.patch(
            path,
            params=API,
            json={"identity": {"type": "None"}, "properties": {"mirrorTraffic": {"green": 20}}},
        ).json()
        assert body["identity"] == {"type": "None"}
        assert body["properties"]["mirrorTraffic"] == {"green": 20}
        body = arm.patch(
            path,
            params=API,
            json={"identity": {"type": "SystemAssigned"}, "properties": {"mirrorTraffic": {}}},
        ).json()
        assert body["identity"]["type"] == "SystemAssigned"
        assert body["identity"]["tenantId"] and body["identity"]["principalId"]
        assert body["properties"]["mirrorTraffic"] == {}


@pytest.mark.parametrize(
    ("patch", "status", "code", "message"),
    [
        ({"properties": {"traffic": {"blue": 50}}}, 400, "BadArgument", "sums to 50"),
        ({"properties": {"traffic": {"ghost": 100}}}, 400, "BadArgument", "'ghost', which does not exist"),
        ({"properties": {"mirrorTraffic": {"blue": 10}}}, 400, "BadArgument", "live traffic cannot also"),
        ({"identity": {"type": "Sometimes"}}, 400, "BadArgument", "Identity type 'Sometimes' is invalid"),
        ({"properties": {"traffic": [1]}}, 400, "BadArgument", "'traffic' must be a JSON object"),
    ],
)
def test_patch_breaking_a_rule_is_refused(emulator, endpoint, patch, status, code, message):
    with emulator.arm() as arm:
        refused = arm.patch(emulator.endpoint_path(endpoint), params=API, json=patch)
        assert refused.status_code == status
        assert refused.json()["error"]["code"] == code
        assert message in refused.json()["error"]["message"]
        assert arm.get(emulator.endpoint_path(endpoint), params=API).json()["properties"]["traffic"] == {
            "blue": 100
        }


def test_patch_of_an_unknown_endpoint_is_404(emulator):
    with emulator.arm() as arm:
        missing = arm.patch(emulator.endpoint_path("no-such-endpoint"), params=API, json={"tags": {}})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"


def test_deployment_patch_changes_tags_at_once_and_scales_as_an_operation(emulator, endpoint):
    path = emulator.deployment_path(endpoint, "green")
    with emulator.arm() as arm:
        tagged = arm.patch(path, params=API, json={"tags": {"color": "green"}})
        assert tagged.status_code == 200
        assert tagged.json()["tags"] == {"color": "green"}
        scaled = arm.patch(path, params=API, json={"sku": {"capacity": 2}})
        assert scaled.status_code == 202
        assert "/mfeOperationResults/" in scaled.headers["Location"]
        assert "/mfeOperationsStatus/" in scaled.headers["Azure-AsyncOperation"]
        body = _wait_state(arm, path, "Succeeded")
        assert body["sku"]["capacity"] == 2
        assert body["tags"] == {"color": "green"}
        too_many = arm.patch(path, params=API, json={"sku": {"capacity": 51}})
        assert too_many.status_code == 400
        assert too_many.json()["error"]["code"] == "OutOfQuota"
        assert "the limit is 50 instances per deployment" in too_many.json()["error"]["message"]


def test_list_skus(emulator, endpoint):
    with emulator.arm() as arm:
        skus = arm.get(emulator.deployment_path(endpoint, "blue") + "/skus", params=API)
        assert skus.status_code == 200
        (sku,) = skus.json()["value"]
        assert (
            sku["resourceType"] == "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
        )
        assert sku["sku"]["name"] == "Default"
        assert sku["capacity"] == {"minimum": 1, "maximum": 50, "default": 1, "scaleType": "Manual"}
        missing = arm.get(emulator.deployment_path(endpoint, "nobody") + "/skus", params=API)
        assert missing.status_code == 404


def test_endpoints_and_deployments_carry_azures_fields(emulator, endpoint):
    with emulator.arm() as arm:
        body = arm.get(emulator.endpoint_path(endpoint), params=API).json()
        deployment = arm.get(emulator.deployment_path(endpoint, "blue"), params=API).json()
        recreated = arm.put(
            emulator.endpoint_path(endpoint),
            params=API,
            json={"location": "local", "properties": {"authMode": "Key", "traffic": {"blue": 100}}},
        )
    properties = body["properties"]
    assert properties["swaggerUri"] == f"{emulator.url}/online-endpoints/{endpoint}/swagger.json"
    assert properties["compute"] is None
    assert properties["properties"]["azureml.onlineendpointid"] == body["id"].lower()
    assert body["identity"]["tenantId"]
    assert deployment["properties"]["codeConfiguration"] is None
    assert "modelMountPath" in deployment["properties"]
    assert recreated.status_code == 200
    assert "/mfeOperationResults/" in recreated.headers["Location"]
    assert (
        recreated.json()["properties"]["properties"]["AzureAsyncOperationUri"]
        == recreated.headers["Azure-AsyncOperation"]
    )


def test_the_swagger_document_is_the_inference_servers(emulator, endpoint):
    with emulator.arm() as arm:
        key = arm.post(emulator.endpoint_path(endpoint) + "/listKeys", params=API).json()["primaryKey"]
        swagger_uri = arm.get(emulator.endpoint_path(endpoint), params=API).json()["properties"]["swaggerUri"]
    with emulator.https() as http:
        assert http.get(swagger_uri, params={"version": 3}).status_code == 401
        reply = http.get(swagger_uri, params={"version": 3}, headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["azureml-model-deployment"] == "blue"
    document = reply.json()  # the inference server's, from the scoring script's input and output types
    assert document["openapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    columns = schemas["ServiceInput"]["example"]["input_data"]["columns"]
    assert {"age", "sex", "thal"} <= set(columns)
    assert schemas["ServiceOutput"]["format"] == "pandas.DataFrame:records"  # the signature's columns
    with emulator.https() as http:
        unversioned = http.get(swagger_uri, headers={"Authorization": f"Bearer {key}"})
    assert unversioned.status_code == 404  # the server makes version 3 (and 3.1) only
    assert "Swagger version [2] is not supported" in unversioned.json()["error"]["message"]


def test_scoring_replies_carry_the_models_run_time(emulator, endpoint, sample_request):
    with emulator.arm() as arm:
        key = arm.post(emulator.endpoint_path(endpoint) + "/listKeys", params=API).json()["primaryKey"]
    with emulator.https() as http:
        reply = http.post(
            emulator.scoring_uri(endpoint), json=sample_request, headers={"Authorization": f"Bearer {key}"}
        )
    assert reply.status_code == 200, reply.text
    assert float(reply.headers["x-ms-run-fn-exec-ms"]) >= 0
    assert reply.headers["x-request-id"]
    assert reply.headers["azureml-model-deployment"] == "blue"


def test_a_body_over_arms_4_mb_is_refused_declared_or_chunked(emulator, endpoint):
    path = emulator.endpoint_path(endpoint)
    padding = {"tags": {"pad": "x" * (4 * 1024 * 1024)}}
    chunks = (b'{"tags": {"pad": "' + b"x" * 1024 * 1024 for _ in range(5))
    with emulator.arm() as arm:
        declared = arm.patch(path, params=API, json=padding)
        chunked = arm.patch(path, params=API, content=chunks, headers={"content-type": "application/json"})
        after = arm.get(path, params=API)
    for refused in (declared, chunked):
        assert refused.status_code == 413
        assert refused.json()["error"] == {
            "code": "RequestContentTooLarge",
            "message": "The request content size exceeds the maximum size of 4 MB.",
            "details": [],
        }
    assert "pad" not in after.json()["tags"]
