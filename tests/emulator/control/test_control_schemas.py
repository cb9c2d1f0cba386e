"""Every online endpoints and deployments reply checked against Azure's published schema (arm_schemas),
read-only fields ignored in requests, and a property-based fuzz of the emulator's own OpenAPI
description: whatever it is sent, it never answers 5xx and never leaves an operation running."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arm_schemas import (
    DEPLOYMENT,
    ENDPOINT,
    ERROR,
    KEYS,
    LOGS,
    OPERATION_STATUS,
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


@pytest.fixture(scope="module")
def operations(emulator) -> list[tuple[str, str]]:
    """The (method, path) pairs the OpenAPI description lists for endpoints, deployments and scoring."""
    with emulator.https() as http:
        document = http.get("/openapi.json").json()
    found = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if path.startswith(FUZZED_PREFIXES) and ("onlineEndpoints" in path or "online-endpoints" in path)
    ]
    assert len(found) >= 15
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
        for param in ("endpoint", "deployment", "version", "model", "operation", "subscription"):
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
