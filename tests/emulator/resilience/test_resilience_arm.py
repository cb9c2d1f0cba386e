"""Malformed ARM requests, at scale: PUT and PATCH of endpoints and deployments with hostile bodies
and names. Every reply is below 500, and every refusal is Azure's JSON error shape; the emulator
keeps answering and no operation is left running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

API = {"api-version": "2025-12-01"}
JSON = {"Content-Type": "application/json"}

HOSTILE = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=16)
    | st.sampled_from(
        ["PT-1S", "P1000000000Y", "PT1e308S", "PT0S", "Key", "AMLToken", "Default", "local", ""]
    )
)
VALUES = st.recursive(
    HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
PROBE = st.dictionaries(
    st.sampled_from(["initialDelay", "period", "timeout", "failureThreshold", "successThreshold"]), VALUES
)
PROPERTIES = st.fixed_dictionaries(
    {},
    optional={
        "authMode": VALUES,
        "traffic": st.dictionaries(st.text(max_size=8), VALUES, max_size=3) | VALUES,
        "mirrorTraffic": st.dictionaries(st.text(max_size=8), VALUES, max_size=2) | VALUES,
        "description": VALUES,
        "model": VALUES,
        "instanceType": VALUES,
        "endpointComputeType": st.sampled_from(["Managed", "Kubernetes", "x"]) | VALUES,
        "requestSettings": st.dictionaries(
            st.sampled_from(["requestTimeout", "maxConcurrentRequestsPerInstance", "maxQueueWait"]), VALUES
        )
        | VALUES,
        "readinessProbe": PROBE | VALUES,
        "livenessProbe": PROBE,
        "environmentVariables": st.dictionaries(st.text(max_size=8), VALUES, max_size=3) | VALUES,
        "codeConfiguration": VALUES,
        "appInsightsEnabled": VALUES,
    },
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "location": st.just("local") | VALUES,
        "kind": VALUES,
        "tags": st.dictionaries(st.text(max_size=8), VALUES, max_size=3) | VALUES,
        "identity": st.dictionaries(st.sampled_from(["type", "userAssignedIdentities"]), VALUES) | VALUES,
        "sku": st.dictionaries(st.sampled_from(["name", "capacity", "tier"]), VALUES) | VALUES,
        "properties": PROPERTIES | VALUES,
    },
)


def nested(levels: int) -> bytes:
    return b'{"properties": ' * levels + b"{}" + b"}" * levels


RAW = st.binary(max_size=64) | st.builds(nested, st.integers(500, 20_000)) | st.just(b"[" * 50_000)


@pytest.fixture(scope="module")
def arm(emulator) -> Iterator[httpx.Client]:
    with emulator.arm() as arm:
        yield arm


@pytest.fixture(scope="module")
def base_endpoint(arm, emulator, unique_name) -> Iterator[str]:
    """An existing endpoint (no deployments) to aim deployment requests at; fuzzed endpoints are removed."""
    listed = f"{emulator.workspace_path}/onlineEndpoints"
    before = {e["name"] for e in arm.get(listed, params=API).json()["value"]}
    name = unique_name("fuzzarm")
    created = arm.put(emulator.endpoint_path(name), params=API, json={"location": "local", "properties": {}})
    assert created.status_code in (200, 201), created.text
    yield name
    settle(arm, emulator)
    for endpoint in arm.get(listed, params=API).json()["value"]:
        if endpoint["name"] not in before:
            assert arm.delete(emulator.endpoint_path(endpoint["name"]), params=API).status_code < 300


def settle(arm: httpx.Client, emulator, timeout: float = 30.0) -> list[str]:
    """Wait until no endpoint or deployment is mid-operation; their states."""
    deadline = time.monotonic() + timeout
    while True:
        endpoints = arm.get(f"{emulator.workspace_path}/onlineEndpoints", params=API).json()["value"]
        states = [e["properties"]["provisioningState"] for e in endpoints]
        for endpoint in endpoints:
            listed = arm.get(f"{endpoint['id']}/deployments", params=API)
            states += [d["properties"]["provisioningState"] for d in listed.json()["value"]]
        if all(state in ("Succeeded", "Failed") for state in states) or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def names(existing: str) -> st.SearchStrategy[str]:
    return st.sampled_from([existing, "blue", "fuzz-new-one"]) | st.text(min_size=1, max_size=40)


def assert_azure_refusal_or_success(response: httpx.Response, what: object) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], (what, response.text)
        assert isinstance(error["message"], str) and error["message"], (what, response.text)


def test_hostile_arm_examples_are_refused_in_azures_shape(arm, emulator, base_endpoint):
    endpoint, deployment = (
        emulator.endpoint_path(base_endpoint),
        emulator.deployment_path(base_endpoint, "blue"),
    )
    cases = [
        ("PUT", endpoint, nested(10_000)),
        ("PATCH", endpoint, b"[" * 50_000),
        ("PUT", deployment, nested(10_000)),
        ("PUT", endpoint, b'{"location": "local", "properties": {"traffic": {"blue": NaN}}}'),
        ("PATCH", endpoint, b'{"properties": {"mirrorTraffic": {"blue": Infinity}}}'),
        ("PUT", deployment, b'{"sku": {"capacity": 1e308}, "properties": {"model": "azureml:x:1"}}'),
        ("PUT", deployment, b'{"properties": {"requestSettings": {"requestTimeout": "PT1e308S"}}}'),
        ("PUT", deployment, b'{"properties": {"readinessProbe": {"period": "P1000000000Y"}}}'),
        ("PATCH", endpoint, b'{"tags": ' + b"[" * 900 + b"]" * 900 + b"}"),
        ("PUT", endpoint, b"\xff\xfe"),
    ]
    for method, path, raw in cases:
        response = arm.request(method, path, content=raw, params=API, headers=JSON)
        assert 400 <= response.status_code < 500, (method, raw[:60], response.text)
        assert_azure_refusal_or_success(response, (method, raw[:60]))


def test_malformed_arm_requests_are_refused_in_azures_shape_never_5xx(arm, emulator, base_endpoint):
    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data(), body=BODIES | VALUES)
    def fuzz_json(data: st.DataObject, body: object) -> None:
        method = data.draw(st.sampled_from(["PUT", "PATCH"]))
        endpoint = quote(data.draw(names(base_endpoint)), safe="")
        path = emulator.endpoint_path(endpoint)
        if data.draw(st.booleans()):
            path = emulator.deployment_path(endpoint, quote(data.draw(names("blue")), safe=""))
        content = json.dumps(body, allow_nan=True).encode()  # NaN and Infinity as Python's json writes them
        response = arm.request(method, path, content=content, params=API, headers=JSON)
        assert_azure_refusal_or_success(response, (method, path, body))

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(raw=RAW, method=st.sampled_from(["PUT", "PATCH"]), deployment=st.booleans())
    def fuzz_bytes(raw: bytes, method: str, deployment: bool) -> None:
        path = (
            emulator.deployment_path(base_endpoint, "blue")
            if deployment
            else emulator.endpoint_path(base_endpoint)
        )
        response = arm.request(method, path, content=raw, params=API, headers=JSON)
        assert_azure_refusal_or_success(response, (method, path, raw[:80]))

    fuzz_json()
    fuzz_bytes()
    states = settle(arm, emulator)
    assert all(state in ("Succeeded", "Failed") for state in states), states
    assert arm.get(emulator.endpoint_path(base_endpoint), params=API).status_code == 200
