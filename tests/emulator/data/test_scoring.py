"""The data plane through the real emulator: HTTPS scoring with keys, routing, mirroring, errors.

Endpoints and deployments are created with the real azure-ai-ml MLClient; requests are plain HTTPS.
Two endpoints are shared by the tests of this module:
- `routing`: blue 90%, green 10%, and shadow (0%, every prediction takes 1 s) for mirroring;
- `errors`: main (100%; 1.5 s request timeout, one request at a time per instance), fragile
  (0%), broken (a model that cannot load: Failed), heart (0%, the demo heart classifier) and
  workers (0%, WORKER_COUNT=2, eight requests at a time per instance).
Each chaos-model deployment answers the value of its SLOT environment variable.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from azure.ai.ml.entities import (
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    OnlineRequestSettings,
    ProbeSettings,
)
from azure.core.exceptions import HttpResponseError

from chaos_support import CHAOS_MODEL, chaos_body, https_client, instance_pid, register_chaos_model


@dataclass(frozen=True)
class Endpoint:
    name: str
    uri: str
    key: str
    secondary_key: str


@pytest.fixture(scope="module")
def chaos_model(emulator_registry) -> str:
    version = register_chaos_model(emulator_registry.uri, emulator_registry.artifacts_dir)
    return f"azureml:{CHAOS_MODEL}:{version}"


@pytest.fixture(scope="module")
def client(emulator) -> Iterator[httpx.Client]:
    with https_client(emulator.ca_file) as client:
        yield client


def _deployment(
    endpoint: str, name: str, model: str, slot: str | None = None, **overrides
) -> ManagedOnlineDeployment:
    environment = {"SLOT": slot or name, **overrides.pop("environment_variables", {})}
    settings = {
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        "request_settings": OnlineRequestSettings(
            request_timeout_ms=5000, max_concurrent_requests_per_instance=4
        ),
        "readiness_probe": ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=30),
        "liveness_probe": ProbeSettings(initial_delay=5, period=5, timeout=2, failure_threshold=3),
        **overrides,
    }
    return ManagedOnlineDeployment(
        name=name, endpoint_name=endpoint, model=model, environment_variables=environment, **settings
    )


def _create(ml_client, emulator, name: str, deployments: list, traffic: dict[str, int]) -> Endpoint:
    ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode="key")
    ).result()
    pollers = {d.name: ml_client.online_deployments.begin_create_or_update(d) for d in deployments}
    for deployment, poller in pollers.items():
        try:
            poller.result()
        except HttpResponseError:
            assert deployment == "broken", f"deployment {deployment} failed"
    endpoint = ml_client.online_endpoints.get(name)
    endpoint.traffic = traffic
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    keys = ml_client.online_endpoints.get_keys(name)
    return Endpoint(name, emulator.scoring_uri(name), keys.primary_key, keys.secondary_key)


@pytest.fixture(scope="module")
def routing(ml_client, emulator, chaos_model, unique_name) -> Iterator[Endpoint]:
    name = unique_name("routing")
    deployments = [
        _deployment(name, "blue", chaos_model),
        _deployment(name, "green", chaos_model),
        _deployment(
            name,
            "shadow",
            chaos_model,
            environment_variables={"CHAOS_SLEEP": "1"},
            request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=1),
        ),
    ]
    yield _create(ml_client, emulator, name, deployments, {"blue": 90, "green": 10})
    ml_client.online_endpoints.begin_delete(name).result()


@pytest.fixture(scope="module")
def errors(ml_client, emulator, chaos_model, registered_models, unique_name) -> Iterator[Endpoint]:
    name = unique_name("errors")
    one_at_a_time = OnlineRequestSettings(request_timeout_ms=1500, max_concurrent_requests_per_instance=1)
    deployments = [
        _deployment(name, "main", chaos_model, request_settings=one_at_a_time),
        _deployment(name, "fragile", chaos_model),
        _deployment(name, "broken", f"azureml:{registered_models.broken}:{registered_models.broken_version}"),
        _deployment(name, "heart", f"azureml:{registered_models.heart}:1"),
        _deployment(
            name,
            "workers",
            chaos_model,
            environment_variables={"WORKER_COUNT": "2"},
            request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=8),
        ),
    ]
    yield _create(ml_client, emulator, name, deployments, {"main": 100})
    ml_client.online_endpoints.begin_delete(name).result()


def _post(
    client: httpx.Client,
    endpoint: Endpoint,
    body: object = None,
    deployment: str | None = None,
    key: str | None = None,
    **headers: str,
) -> httpx.Response:
    all_headers = {"Authorization": f"Bearer {key or endpoint.key}", **headers}
    if deployment:
        all_headers["azureml-model-deployment"] = deployment
    return client.post(endpoint.uri, json=chaos_body() if body is None else body, headers=all_headers)


def _error(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]["message"]


def _metrics(client: httpx.Client, emulator, endpoint: Endpoint) -> dict[str, dict]:
    document = client.get(f"{emulator.url}/metrics.json", params={"endpoint": endpoint.name}).json()
    return {row["deployment"]: row for row in document["deployments"]}


# Routing -----------------------------------------------------------------------------------------


def test_a_90_10_split_is_exact_over_1000_requests(client, routing):
    def call(_: int) -> str:
        response = _post(client, routing)
        assert response.status_code == 200
        deployment = response.headers["azureml-model-deployment"]
        assert response.json() == [deployment]  # the header names the deployment that answered
        return deployment

    with concurrent.futures.ThreadPoolExecutor(4) as executor:  # four clients at once
        served = Counter(executor.map(call, range(1000)))
    assert served == {"blue": 900, "green": 100}


def test_the_split_is_even_within_any_window(client, routing):
    served = [_post(client, routing).headers["azureml-model-deployment"] for _ in range(30)]
    for start in range(0, 21):
        assert served[start : start + 10].count("green") == 1, served


def test_the_deployment_header_targets_a_deployment_whatever_its_traffic(client, routing):
    for target in ("green", "GREEN", "shadow"):
        response = _post(client, routing, deployment=target)
        assert response.status_code == 200
        assert response.headers["azureml-model-deployment"] == target.lower()
        assert response.json() == [target.lower()]


def test_an_unknown_deployment_header_is_404(client, routing):
    response = _post(client, routing, deployment="purple")
    assert response.status_code == 404
    assert "Deployment 'purple' does not exist" in _error(response)
    assert "azureml-model-deployment" not in response.headers


def test_an_endpoint_without_traffic_is_404(client, ml_client, emulator, unique_name):
    name = unique_name("no-traffic")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    try:
        keys = ml_client.online_endpoints.get_keys(name)
        endpoint = Endpoint(name, emulator.scoring_uri(name), keys.primary_key, keys.secondary_key)
        response = _post(client, endpoint)
        assert response.status_code == 404
        assert "has no deployment with traffic" in _error(response)
        assert response.headers["x-request-id"]
    finally:
        ml_client.online_endpoints.begin_delete(name).result()


def test_an_unknown_endpoint_is_404(client, emulator):
    response = client.post(
        emulator.scoring_uri("nowhere"), json=chaos_body(), headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 404
    assert "Endpoint 'nowhere' does not exist" in _error(response)


def test_mirroring_copies_a_share_of_live_requests_without_delaying_them(
    client, ml_client, emulator, routing
):
    endpoint = ml_client.online_endpoints.get(routing.name)
    endpoint.mirror_traffic = {"shadow": 10}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    before = _metrics(client, emulator, routing).get("shadow", None)
    try:
        served, slowest = Counter(), 0.0
        for _ in range(100):
            started = time.perf_counter()
            response = _post(client, routing)
            slowest = max(slowest, time.perf_counter() - started)
            assert response.status_code == 200
            served[response.headers["azureml-model-deployment"]] += 1
        for _ in range(20):  # requests that name a deployment are never mirrored
            assert _post(client, routing, deployment="blue").status_code == 200
    finally:
        endpoint = ml_client.online_endpoints.get(routing.name)
        endpoint.mirror_traffic = {}
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    assert served == {"blue": 90, "green": 10}  # the mirror takes nothing from the live split
    assert slowest < 0.5, f"a live reply took {slowest:.2f} s while the mirror sleeps 1 s per request"

    mirrored_before = before["mirrored"] if before else 0
    requests_before = before["requests"] if before else {"2xx": 0, "4xx": 0, "5xx": 0}
    deadline = time.monotonic() + 10
    while _metrics(client, emulator, routing)["shadow"]["mirrored"] < mirrored_before + 10:
        assert time.monotonic() < deadline, "the mirrored requests were not all counted"
        time.sleep(0.1)
    shadow = _metrics(client, emulator, routing)["shadow"]
    assert shadow["mirrored"] == mirrored_before + 10
    assert shadow["requests"] == requests_before  # mirrored copies do not count as requests


# Authentication and headers ----------------------------------------------------------------------


def test_a_missing_or_wrong_credential_is_401(client, routing, errors):
    cases = {
        "no header": {},
        "wrong key": {"Authorization": "Bearer not-the-key"},
        "basic scheme": {"Authorization": f"Basic {routing.key}"},
        "another endpoint's key": {"Authorization": f"Bearer {errors.key}"},
    }
    for case, headers in cases.items():
        response = client.post(routing.uri, json=chaos_body(), headers=headers)
        assert response.status_code == 401, case
        assert "Missing or invalid credential" in _error(response)
        assert response.headers["x-request-id"]
    assert _post(client, routing, key=routing.secondary_key).status_code == 200


def test_replies_carry_the_request_id(client, routing):
    given = _post(client, routing, **{"x-request-id": "req-123"})
    assert given.headers["x-request-id"] == "req-123"
    client_id = _post(client, routing, **{"x-ms-client-request-id": "client-9"})
    assert client_id.headers["x-request-id"] == "client-9"
    assert client_id.headers["x-ms-client-request-id"] == "client-9"
    generated = {_post(client, routing).headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3 and all(uuid.UUID(value) for value in generated)


# Errors ------------------------------------------------------------------------------------------


def test_the_heart_classifier_answers_the_sample_with_a_bare_list(client, errors, sample_request):
    response = _post(client, errors, sample_request, deployment="heart")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() in ([0], [1])


def test_the_sdk_invoke_reaches_the_data_plane(ml_client, errors, tmp_path, sample_request):
    request_file = tmp_path / "sample.json"
    request_file.write_text(json.dumps(sample_request))
    answer = ml_client.online_endpoints.invoke(
        errors.name, request_file=str(request_file), deployment_name="heart"
    )
    assert json.loads(answer) in ([0], [1])


def test_bodies_the_inference_server_refuses_are_its_400(client, errors, sample_request):
    row = sample_request["input_data"]["data"][0]
    cases = {
        "not JSON": (b"{not json", "POST body could not be decoded as JSON"),
        "a JSON list": (b"[1, 2]", "POST body should be a JSON dictionary."),
        "no input_data": (
            json.dumps({"data": [row]}).encode(),
            "A value is not provided for the 'input_data' parameter.",
        ),
    }
    headers = {"Authorization": f"Bearer {errors.key}", "azureml-model-deployment": "heart"}
    for case, (body, message) in cases.items():
        response = client.post(
            errors.uri, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, case
        assert response.json()["message"].startswith(message), case  # the server's own body
        assert response.headers["x-ms-run-function-failed"] == "False", case
        assert response.headers["azureml-model-deployment"] == "heart"


def test_bodies_the_scoring_script_cannot_score_are_424(client, errors, sample_request):
    columns, row = sample_request["input_data"]["columns"], sample_request["input_data"]["data"][0]
    cases = {
        "not split orientation": {"input_data": [row]},
        "a missing column": {"input_data": {"columns": columns[:-1], "data": [row[:-1]]}},
        "a short row": {"input_data": {"columns": columns, "data": [row[:-1]]}},
    }
    for case, body in cases.items():
        response = _post(client, errors, body, deployment="heart")
        assert response.status_code == 424, case
        assert response.headers["ms-azureml-model-error-statuscode"] == "500", case
        assert response.headers["x-ms-run-function-failed"] == "True", case
        assert "An unexpected error occurred in scoring script" in _error(response), case


def test_a_body_that_is_not_json_typed_is_415(client, errors):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Authorization": f"Bearer {errors.key}"}
        if content_type:
            headers["Content-Type"] = content_type
        response = client.post(errors.uri, content=json.dumps(chaos_body()), headers=headers)
        assert response.status_code == 415, content_type
        assert "send 'application/json'" in _error(response)
    charset = {"Authorization": f"Bearer {errors.key}", "Content-Type": "application/json; charset=utf-8"}
    assert client.post(errors.uri, content=json.dumps(chaos_body()), headers=charset).status_code == 200


def test_a_body_over_the_limit_is_413(client, errors):
    oversized = b'{"input_data": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    headers = {"Authorization": f"Bearer {errors.key}", "Content-Type": "application/json"}
    response = client.post(errors.uri, content=oversized, headers=headers)
    assert response.status_code == 413
    assert "larger than the limit of 10485760 bytes" in _error(response)
    assert _post(client, errors).status_code == 200  # the connection and the router are fine


def test_a_model_that_raises_is_424_with_azure_headers(client, ml_client, errors):
    response = _post(client, errors, chaos_body("raise"), **{"x-request-id": "raised-1"})
    assert response.status_code == 424
    assert response.headers["ms-azureml-model-error-statuscode"] == "500"
    assert response.headers["ms-azureml-model-error-reason"] == "model_error"
    assert response.headers["x-ms-run-function-failed"] == "True"  # the inference server's
    assert response.headers["x-ms-server-version"].startswith("azmlinfsrv/")
    assert response.headers["x-request-id"] == "raised-1"
    assert response.headers["azureml-model-deployment"] == "main"
    assert "An unexpected error occurred in scoring script" in _error(response)
    logs = ml_client.online_deployments.get_logs("main", errors.name, lines=200)
    assert "ValueError: the chaos model raised on purpose" in logs


def test_a_request_over_the_timeout_is_408(client, errors):
    started = time.perf_counter()
    response = _post(client, errors, chaos_body("sleep", 3.0))
    elapsed = time.perf_counter() - started
    assert response.status_code == 408
    assert "request_timeout_ms (1500 ms)" in _error(response)
    assert 1.4 < elapsed < 3.0


def test_pending_requests_over_twice_the_concurrency_are_429(client, emulator, errors):
    # main: max_concurrent_requests_per_instance 1 x instance_count 1 -> at most 2 pending. Its one
    # gunicorn worker finishes a request the router gave up on (408) before it takes the next one.
    deadline = time.monotonic() + 15
    while _post(client, errors).status_code != 200:
        assert time.monotonic() < deadline, "the deployment's worker stayed busy"
    clients = [https_client(emulator.ca_file) for _ in range(4)]
    for own in clients:  # connect (TLS) first, so that the four requests leave together
        assert own.get(f"{emulator.url}/healthz").status_code == 200
    barrier = threading.Barrier(4)

    def call(own: httpx.Client) -> httpx.Response:
        barrier.wait()
        return _post(own, errors, chaos_body("sleep", 0.6))

    try:
        with concurrent.futures.ThreadPoolExecutor(4) as executor:
            responses = list(executor.map(call, clients))
    finally:
        for own in clients:
            own.close()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429]
    refused = next(r for r in responses if r.status_code == 429)
    assert "the most it takes (2 x max_concurrent_requests_per_instance x instance_count = 2)" in _error(
        refused
    )
    assert refused.headers["ms-azureml-model-error-reason"] == "too_many_pending_request"


def test_worker_count_serves_one_instance_from_that_many_processes(emulator, ml_client, errors):
    # workers: WORKER_COUNT=2; max_concurrent_requests_per_instance 8 x instance_count 1 -> at most
    # 16 pending. Seventeen requests leave together: sixteen are served (eight at a time sent to the
    # instance, whose two gunicorn workers take them), one is refused.
    clients = [https_client(emulator.ca_file) for _ in range(17)]
    for own in clients:  # connect (TLS) first, so that the requests leave together
        assert own.get(f"{emulator.url}/healthz").status_code == 200
    barrier = threading.Barrier(len(clients))
    body = {"input_data": {"columns": ["action", "seconds"], "data": [["sleep", 0.1], ["pid", 0.0]]}}

    def call(own: httpx.Client) -> httpx.Response:
        barrier.wait()
        return _post(own, errors, body, deployment="workers")

    try:
        with concurrent.futures.ThreadPoolExecutor(len(clients)) as executor:
            responses = list(executor.map(call, clients))
    finally:
        for own in clients:
            own.close()
    assert sorted(r.status_code for r in responses) == [200] * 16 + [429]
    pids = {int(r.json()[1]) for r in responses if r.status_code == 200}
    logs = ml_client.online_deployments.get_logs("workers", errors.name, lines=500)
    workers = {int(pid) for pid in re.findall(r"Worker with pid (\d+) ready for serving traffic", logs)}
    assert len(workers) == 2 and pids == workers, logs


def test_a_worker_that_dies_mid_request_is_502_and_replaced(client, ml_client, errors):
    response = _post(client, errors, chaos_body("exit"), deployment="fragile")
    assert response.status_code == 502
    assert "failed to answer" in _error(response)
    deadline = time.monotonic() + 15
    while (again := _post(client, errors, deployment="fragile")).status_code != 200:
        assert again.status_code == 503, again.text  # no ready instance while it restarts
        assert time.monotonic() < deadline, "the instance was not restarted"
        time.sleep(0.05)
    logs = ml_client.online_deployments.get_logs("fragile", errors.name, lines=200)
    assert re.search(r"Worker \(pid:\d+\) exited with code 13", logs), logs  # gunicorn boots another


def test_a_killed_instance_is_restarted_and_serves_again(client, ml_client, errors):
    assert _post(client, errors, deployment="fragile").status_code == 200
    pid = instance_pid(ml_client.online_deployments.get_logs("fragile", errors.name, lines=200))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while True:
        logs = ml_client.online_deployments.get_logs("fragile", errors.name, lines=200)
        if instance_pid(logs) != pid and _post(client, errors, deployment="fragile").status_code == 200:
            break
        assert time.monotonic() < deadline, "the killed instance was not restarted"
        time.sleep(0.05)
    assert "killed by signal SIGKILL" in logs
    assert "chaos model scoring 1 row(s)" in logs  # the model's own output is in the logs


def test_a_deployment_without_a_ready_instance_is_503(client, ml_client, errors):
    assert ml_client.online_deployments.get("broken", errors.name).provisioning_state == "Failed"
    response = _post(client, errors, deployment="broken")
    assert response.status_code == 503
    message = _error(response)
    assert "has no ready instance" in message
    assert "No module named 'rollout_test_missing_loader_module'" in message
    assert response.headers["azureml-model-deployment"] == "broken"
