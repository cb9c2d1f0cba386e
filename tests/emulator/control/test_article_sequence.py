"""The safe-rollout sequence of Azure's article "Perform safe rollout of new deployments for real-time
inference", against the emulator: the real MLClient for the control plane, plain HTTPS for scoring.

The article mirrors traffic to green while blue still takes all live traffic (a deployment with live
traffic cannot receive mirrored traffic), then moves to 90/10 and 0/100.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
from azure.ai.ml.entities import (
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    OnlineRequestSettings,
    ProbeSettings,
)

REQUESTS = 100


def _deployment(endpoint: str, name: str, model: str) -> ManagedOnlineDeployment:
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        instance_type="Standard_DS3_v2",
        instance_count=1,
        request_settings=OnlineRequestSettings(
            request_timeout_ms=5000, max_concurrent_requests_per_instance=4
        ),
        readiness_probe=ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=30),
    )


def _set_traffic(
    ml_client, endpoint: str, traffic: dict[str, int], mirror: dict[str, int] | None = None
) -> None:
    current = ml_client.online_endpoints.get(endpoint)  # GET, change, PUT: the PUT is a full replace
    current.traffic = traffic
    current.mirror_traffic = mirror or {}
    ml_client.online_endpoints.begin_create_or_update(current).result()


def _served_by(http: httpx.Client, uri: str, key: str, body: dict, count: int) -> Counter[str]:
    served: Counter[str] = Counter()
    for _ in range(count):
        response = http.post(uri, json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        served[response.headers["azureml-model-deployment"]] += 1
    return served


def _mirrored(http: httpx.Client, endpoint: str, deployment: str) -> int:
    snapshot = http.get("/metrics.json", params={"endpoint": endpoint}).json()
    return sum(row["mirrored"] for row in snapshot["deployments"] if row["deployment"] == deployment)


def test_safe_rollout_sequence(ml_client, emulator, registered_models, sample_request, unique_name):
    endpoint = unique_name("heart")
    heart = registered_models.heart

    # 1. Create the endpoint.
    created = ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=endpoint, auth_mode="key", description="heart classifier")
    ).result()
    assert created.provisioning_state == "Succeeded"
    uri = created.scoring_uri
    key = ml_client.online_endpoints.get_keys(endpoint).primary_key

    # 2. Blue deployment, then all traffic to blue.
    blue = ml_client.online_deployments.begin_create_or_update(
        _deployment(endpoint, "blue", f"azureml:{heart}:1")
    )
    assert blue.result().provisioning_state == "Succeeded"
    _set_traffic(ml_client, endpoint, {"blue": 100})

    with emulator.https() as http:
        # 3. Invoke with samples/sample.json over HTTPS with the key.
        response = http.post(uri, json=sample_request, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        predictions = response.json()
        assert isinstance(predictions, list) and len(predictions) == 1 and predictions[0] in (0, 1)
        assert response.headers["azureml-model-deployment"] == "blue"
        assert response.headers["x-request-id"]

        # 4. Green deployment at 0%.
        green = ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "green", f"azureml:{heart}:2")
        )
        assert green.result().provisioning_state == "Succeeded"
        assert ml_client.online_endpoints.get(endpoint).traffic == {"blue": 100, "green": 0}
        assert _served_by(http, uri, key, sample_request, 10) == {"blue": 10}

        # 5. Invoke green by header, whatever its traffic.
        response = http.post(
            uri,
            json=sample_request,
            headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": "green"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["azureml-model-deployment"] == "green"
        assert response.json()[0] in (0, 1)

        # 6. Mirror 10% of the live traffic to green (its replies are discarded), then switch it off.
        _set_traffic(ml_client, endpoint, {"blue": 100}, {"green": 10})
        assert ml_client.online_endpoints.get(endpoint).mirror_traffic == {"green": 10}
        before = _mirrored(http, endpoint, "green")
        assert _served_by(http, uri, key, sample_request, REQUESTS) == {"blue": REQUESTS}
        deadline = time.monotonic() + 30
        while _mirrored(http, endpoint, "green") - before < REQUESTS // 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _mirrored(http, endpoint, "green") - before == REQUESTS // 10
        _set_traffic(ml_client, endpoint, {"blue": 100})
        assert ml_client.online_endpoints.get(endpoint).mirror_traffic == {}

        # 7. 90/10: the split is exact over the window.
        _set_traffic(ml_client, endpoint, {"blue": 90, "green": 10})
        assert _served_by(http, uri, key, sample_request, REQUESTS) == {"blue": 90, "green": 10}

        # 8. 0/100: everything to green.
        _set_traffic(ml_client, endpoint, {"blue": 0, "green": 100})
        assert _served_by(http, uri, key, sample_request, 20) == {"green": 20}

    # 9. Delete blue (drained), then the endpoint.
    ml_client.online_deployments.begin_delete("blue", endpoint).result()
    assert [d.name for d in ml_client.online_deployments.list(endpoint)] == ["green"]
    ml_client.online_endpoints.begin_delete(endpoint).result()
    assert endpoint not in [e.name for e in ml_client.online_endpoints.list()]
