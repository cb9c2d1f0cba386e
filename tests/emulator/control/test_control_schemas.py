"""Every online endpoints, deployments, code and environment versions reply checked against Azure's
published schema (arm_schemas), read-only fields ignored in requests, and a property-based fuzz of the
emulator's own OpenAPI description: whatever it is sent, it never answers 5xx and never leaves an
operation running."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arm_schemas import (
    CODE_VERSION,
    DEPLOYMENT,
    ENDPOINT,
    ENVIRONMENT_VERSION,
    ERROR,
    KEYS,
    LOGS,
    OPERATION_STATUS,
    PENDING_UPLOAD,
    SKU_RESOURCE,
    TOKEN,
    paginated,
)

API = {"api-version": "2025-12-01"}
CHECKER = jsonschema.FormatChecker()


def conforms(body: object, schema: dict) -> None:
    jsonschema.validate(body, schema, format_checker=CHECKER)


def _wait(arm: httpx.Client, url: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = arm.get(url).json()
        conforms(status, OPERATION_STATUS)
        if status["status"] in ("Succeeded", "Failed", "Canceled"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"operation {url} still running")


@pytest.fixture(scope="module")
def resources(emulator, registered_models, unique_name) -> Iterator[tuple[str, str]]:
    endpoint = unique_name("schema")
    with emulator.arm() as arm:
        created = arm.put(
            emulator.endpoint_path(endpoint),
            params=API,
            json={
                "location": "local",
                "properties": {"authMode": "Key", "provisioningState": "Failed", "scoringUri": "https://x"},
                "id": "/elsewhere",
                "systemData": {"createdBy": "someone else"},
            },
        )
        conforms(created.json(), ENDPOINT)
        deployed = arm.put(
            emulator.deployment_path(endpoint, "blue"),
            params=API,
            json={
                "location": "local",
                "sku": {"name": "Default", "capacity": 1},
                "properties": {
                    "endpointComputeType": "Managed",
                    "model": f"azureml:{registered_models.heart}:1",
                    "instanceType": "Standard_DS3_v2",
                    "provisioningState": "Succeeded",
                    "readinessProbe": {"initialDelay": "PT1S", "period": "PT1S"},
                },
            },
        )
        assert deployed.status_code == 201
        conforms(deployed.json(), DEPLOYMENT)
        assert deployed.json()["properties"]["provisioningState"] == "Creating"  # not what was sent
        _wait(arm, deployed.headers["Azure-AsyncOperation"])
    yield endpoint, "blue"
    with emulator.arm() as arm:
        arm.delete(emulator.endpoint_path(endpoint), params=API)


def test_endpoint_replies_conform(emulator, resources):
    endpoint, _ = resources
    with emulator.arm() as arm:
        got = arm.get(emulator.endpoint_path(endpoint), params=API).json()
        conforms(got, ENDPOINT)
        # read-only fields sent in the PUT were ignored
        assert got["id"].endswith(f"/onlineEndpoints/{endpoint}")
        assert got["properties"]["provisioningState"] == "Succeeded"
        assert got["properties"]["scoringUri"] == emulator.scoring_uri(endpoint)
        assert got["systemData"]["createdBy"] == "rollout-emulator"
        conforms(
            arm.get(f"{emulator.workspace_path}/onlineEndpoints", params=API).json(), paginated(ENDPOINT)
        )
        conforms(arm.post(emulator.endpoint_path(endpoint) + "/listKeys", params=API).json(), KEYS)
        patched = arm.patch(emulator.endpoint_path(endpoint), params=API, json={"tags": {"a": "b"}})
        conforms(patched.json(), ENDPOINT)


def test_deployment_replies_conform(emulator, resources):
    endpoint, deployment = resources
    path = emulator.deployment_path(endpoint, deployment)
    with emulator.arm() as arm:
        conforms(arm.get(path, params=API).json(), DEPLOYMENT)
        conforms(
            arm.get(emulator.endpoint_path(endpoint) + "/deployments", params=API).json(),
            paginated(DEPLOYMENT),
        )
        conforms(arm.get(path + "/skus", params=API).json(), paginated(SKU_RESOURCE))
        conforms(arm.post(path + "/getLogs", params=API, json={"tail": 5}).json(), LOGS)
        conforms(arm.patch(path, params=API, json={"tags": {"c": "d"}}).json(), DEPLOYMENT)


def test_token_and_error_replies_conform(emulator, unique_name):
    name = unique_name("schematok")
    with emulator.arm() as arm:
        arm.put(
            emulator.endpoint_path(name),
            params=API,
            json={"location": "local", "properties": {"authMode": "AMLToken"}},
        )
        conforms(arm.post(emulator.endpoint_path(name) + "/token", params=API).json(), TOKEN)
        for reply in (
            arm.post(emulator.endpoint_path(name) + "/listKeys", params=API),
            arm.get(emulator.endpoint_path("missing-one"), params=API),
            arm.patch(emulator.endpoint_path(name), params=API, json={"properties": {"traffic": {"x": 100}}}),
            arm.get(emulator.workspace_path + "/nothing-here", params=API),
            arm.put(emulator.endpoint_path(name), params=API, content=b"[1, 2]"),
        ):
            assert 400 <= reply.status_code < 500
            conforms(reply.json(), ERROR)
        arm.delete(emulator.endpoint_path(name), params=API)


def test_code_and_environment_version_replies_conform(emulator):
    name = str(uuid.uuid4())
    code = f"{emulator.workspace_path}/codes/{name}/versions/1"
    content_hash = hashlib.sha256(name.encode()).hexdigest()
    with emulator.arm() as arm, emulator.https() as http:
        started = arm.post(f"{code}/startPendingUpload", params=API, json={"pendingUploadType": None})
        conforms(started.json(), PENDING_UPLOAD)
        reference = started.json()["blobReferenceForConsumption"]
        container, _, sas = reference["credential"]["sasUri"].partition("?")
        script = f"{container}/src/score.py?{sas}"
        content = b"def init():\n    pass\n"
        md5 = base64.b64encode(hashlib.md5(content).digest()).decode()
        upload = {"x-ms-blob-type": "BlockBlob", "x-ms-meta-name": name}
        wrong = http.put(script, content=content, headers={**upload, "Content-MD5": md5[::-1]})
        assert (wrong.status_code, wrong.headers["x-ms-error-code"]) == (400, "Md5Mismatch")
        assert http.put(script, content=content, headers={**upload, "Content-MD5": md5}).status_code == 201
        assert http.head(script).headers["x-ms-meta-name"] == name
        confirmed = http.put(f"{script}&comp=metadata", headers={"x-ms-meta-upload_status": "completed"})
        assert confirmed.status_code == 200
        assert http.head(script).headers["x-ms-meta-upload_status"] == "completed"
        assert "x-ms-meta-name" not in http.head(script).headers

        body = {
            "properties": {
                "codeUri": reference["blobUri"] + "/src",
                "isAnonymous": True,
                "properties": {"hash_sha256": content_hash, "hash_version": "202208"},
                "provisioningState": "Failed",  # read-only: ignored
            }
        }
        created = arm.put(code, params=API, json=body)
        assert created.status_code == 201
        conforms(created.json(), CODE_VERSION)
        assert created.json()["properties"]["provisioningState"] == "Succeeded"
        assert arm.put(code, params=API, json=body).status_code == 200
        conforms(arm.get(code, params=API).json(), CODE_VERSION)
        found = arm.get(
            f"{emulator.workspace_path}/codes/any-name/versions",
            params={**API, "hash": content_hash, "hashVersion": "202208"},
        ).json()
        conforms(found, paginated(CODE_VERSION))
        assert [version["id"] for version in found["value"]] == [created.json()["id"]]
        other = f"{container}/other/score.py?{sas}"
        assert http.put(other, content=content, headers=upload).status_code == 201
        body["properties"]["codeUri"] = reference["blobUri"] + "/other"
        moved = arm.put(code, params=API, json=body)
        assert (moved.status_code, moved.json()["error"]["code"]) == (400, "UserError")
        assert moved.json()["error"]["message"] == "Asset paths cannot be updated."

        environment = f"{emulator.workspace_path}/environments/{name}/versions/1"
        spec = {"properties": {"image": "python:3.11-slim", "condaFile": "name: x\ndependencies: [pip]\n"}}
        registered = arm.put(environment, params=API, json={"properties": {**spec["properties"]}})
        assert registered.status_code == 201
        conforms(registered.json(), ENVIRONMENT_VERSION)
        assert registered.json()["properties"]["environmentType"] == "UserCreated"
        conforms(arm.get(environment, params=API).json(), ENVIRONMENT_VERSION)
        listed = arm.get(f"{emulator.workspace_path}/environments/{name}/versions", params=API).json()
        conforms(listed, paginated(ENVIRONMENT_VERSION))
        spec["properties"]["image"] = "python:3.12-slim"
        changed = arm.put(environment, params=API, json=spec)
        assert (changed.status_code, changed.json()["error"]["code"]) == (409, "Conflict")
        for reply in (
            changed,
            arm.get(f"{emulator.workspace_path}/codes/{name}/versions/2", params=API),
            arm.put(f"{environment}9", params=API, json={"properties": {"condaFile": "name: x\n"}}),
            arm.put(f"{environment}9", params=API, json={"properties": {"image": "x", "condaFile": "[1"}}),
            arm.put(
                code.replace("/1", "/2"), params=API, json={"properties": {"codeUri": "https://elsewhere/x"}}
            ),
            arm.post(f"{code}/startPendingUpload", params=API, json={"pendingUploadId": "azureml"}),
        ):
            assert 400 <= reply.status_code < 500
            conforms(reply.json(), ERROR)


# The fuzz ------------------------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from(["fuzz-one", "fuzz-two", "blue", "green"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-200, 200) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
ARM_BODIES = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "location": st.just("local"),
            "tags": st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2),
            "identity": st.dictionaries(st.sampled_from(["type", "x"]), JSON_VALUES, max_size=2),
            "sku": st.dictionaries(st.sampled_from(["name", "capacity"]), JSON_VALUES, max_size=2),
            "properties": st.dictionaries(
                st.sampled_from(
                    [
                        "authMode",
                        "traffic",
                        "mirrorTraffic",
                        "description",
                        "model",
                        "instanceType",
                        "requestSettings",
                        "readinessProbe",
                        "keyType",
                        "tail",
                        "containerType",
                        "codeConfiguration",
                        "environmentId",
                        "codeUri",
                        "condaFile",
                        "image",
                        "build",
                    ]
                ),
                JSON_VALUES,
                max_size=4,
            ),
            "keyType": JSON_VALUES,
            "tail": JSON_VALUES,
        },
    ),
    JSON_VALUES,
)
FUZZED_PREFIXES = ("/subscriptions/", "/online-endpoints/")
FUZZED_RESOURCES = ("onlineEndpoints", "online-endpoints", "/codes/", "/environments/")


@pytest.fixture(scope="module")
def operations(emulator) -> list[tuple[str, str]]:
    """The (method, path) pairs the OpenAPI description lists for endpoints, deployments, scoring, code
    and environment versions."""
    with emulator.https() as http:
        document = http.get("/openapi.json").json()
    found = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if path.startswith(FUZZED_PREFIXES) and any(part in path for part in FUZZED_RESOURCES)
    ]
    assert len(found) >= 22
    return found


@pytest.fixture(scope="module")
def fuzz_client(emulator) -> Iterator[httpx.Client]:
    with emulator.arm() as arm:
        yield arm


def test_the_openapi_description_never_gets_a_5xx(emulator, operations, fuzz_client):
    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        method, template = data.draw(st.sampled_from(operations))
        path = template
        for param in ("endpoint", "deployment", "version", "model", "operation", "subscription", "name"):
            if "{" + param + "}" in path:
                path = path.replace("{" + param + "}", quote(data.draw(NAMES), safe=""))
        body = data.draw(ARM_BODIES)
        reply = fuzz_client.request(
            method,
            path,
            json=body,
            params={"api-version": data.draw(st.sampled_from(["2025-12-01", "2023-04-01-preview", ""]))},
            timeout=15.0,
        )
        assert reply.status_code < 500, (method, path, body, reply.text)
        if reply.status_code >= 400 and path.startswith("/subscriptions/"):
            conforms(reply.json(), ERROR)

    fuzz()
    # No operation is left running: every fuzzed resource settles.
    deadline = time.monotonic() + 30
    while True:
        endpoints = fuzz_client.get(f"{emulator.workspace_path}/onlineEndpoints", params=API).json()["value"]
        states = [e["properties"]["provisioningState"] for e in endpoints]
        for endpoint in endpoints:
            listed = fuzz_client.get(f"{endpoint['id']}/deployments", params=API)
            if listed.status_code == 200:
                states += [d["properties"]["provisioningState"] for d in listed.json()["value"]]
        if all(state in ("Succeeded", "Failed") for state in states) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(state in ("Succeeded", "Failed") for state in states), states
