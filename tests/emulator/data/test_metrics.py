"""Per-deployment metrics: the `Metrics` collector, and `/metrics` and `/metrics.json` of the real
emulator after real scoring requests."""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, ProbeSettings

from chaos_support import https_client
from rollout.azureml.metrics_sources import parse_emulator_metrics
from rollout.emulator.data.metrics import LATENCY_BUCKETS_MS, Answer, Metrics


def _row(snapshot: dict, endpoint: str, deployment: str) -> dict:
    rows = [r for r in snapshot["deployments"] if (r["endpoint"], r["deployment"]) == (endpoint, deployment)]
    assert len(rows) == 1, snapshot
    return rows[0]


def test_requests_count_by_status_class_with_a_latency_histogram():
    metrics = Metrics()
    for status, seconds in [
        (200, 0.004),
        (200, 0.012),
        (200, 0.250),
        (400, 0.001),
        (424, 0.03),
        (503, 0.0005),
    ]:
        metrics.observe("ep", "blue", Answer(status, seconds))
    metrics.observe("ep", "green", Answer(200, 0.002))

    blue = _row(metrics.snapshot(), "ep", "blue")
    assert blue["requests"] == {"2xx": 3, "4xx": 2, "5xx": 1}
    assert blue["status_codes"] == {"200": 3, "400": 1, "424": 1, "503": 1}
    assert blue["mirrored"] == 0
    latency = blue["latency_ms"]
    assert latency["count"] == 6
    assert latency["sum"] == pytest.approx(297.5)
    buckets = dict((le, count) for le, count in latency["buckets"])
    assert [le for le, _ in latency["buckets"]] == [*map(float, LATENCY_BUCKETS_MS), "+Inf"]
    assert (buckets[1.0], buckets[5.0], buckets[15.0], buckets[50.0], buckets[300.0]) == (2, 3, 4, 5, 6)
    assert buckets["+Inf"] == 6
    assert _row(metrics.snapshot(), "ep", "green")["requests"] == {"2xx": 1, "4xx": 0, "5xx": 0}
    assert [r["deployment"] for r in metrics.snapshot(endpoint="other")["deployments"]] == []


def test_mirrored_requests_count_apart_from_requests():
    metrics = Metrics()
    metrics.observe("ep", "green", Answer(200, 0.01, mirrored=True))
    metrics.observe("ep", "green", Answer(429, 0.0, mirrored=True))
    green = _row(metrics.snapshot(), "ep", "green")
    assert green["mirrored"] == 2
    assert green["mirrored_status_codes"] == {"200": 1, "429": 1}
    assert green["mirrored_latency_ms"]["count"] == 2
    assert green["mirrored_latency_ms"]["sum"] == pytest.approx(10.0)
    assert green["requests"] == {"2xx": 0, "4xx": 0, "5xx": 0}
    assert green["status_codes"] == {}
    assert green["latency_ms"]["count"] == 0


def test_the_release_tool_counts_a_deployments_mirrored_copies_with_its_requests():
    """As Azure Monitor does: a shadow deployment's numbers are the copies it answered."""
    metrics = Metrics()
    for _ in range(4):
        metrics.observe("ep", "green", Answer(200, 0.004, mirrored=True))
    metrics.observe("ep", "green", Answer(424, 0.3, mirrored=True))  # a copy the model failed
    metrics.observe("ep", "green", Answer(200, 0.004))  # a probe by header
    metrics.observe("ep", "blue", Answer(200, 0.004))
    stats = parse_emulator_metrics(metrics.snapshot(), "ep")
    green = stats["green"]
    assert (green.ok, green.client_errors, green.errors) == (5, 0, 1)
    assert green.latency_buckets[-1] == (float("inf"), 6)
    assert dict(green.latency_buckets)[5.0] == 5  # the five fast ones, copies and probe together
    assert (stats["blue"].ok, stats["blue"].errors) == (1, 0)


def test_the_release_tool_reads_the_json_form():
    metrics = Metrics()
    for _ in range(3):
        metrics.observe("ep", "blue", Answer(200, 0.02))
    metrics.observe("ep", "blue", Answer(502, 0.02))
    metrics.observe("ep", "blue", Answer(424, 0.02))  # the model failed: the deployment's fault
    metrics.observe("ep", "blue", Answer(400, 0.02))  # the caller's fault
    stats = parse_emulator_metrics(metrics.snapshot(), "ep")["blue"]
    assert (stats.ok, stats.client_errors, stats.errors) == (3, 1, 2)
    assert stats.latency_buckets[-1] == (float("inf"), 6)


def test_prometheus_text_names_deployment_status_and_latency():
    metrics = Metrics()
    metrics.observe("ep", "blue", Answer(200, 0.02))
    metrics.observe("ep", "blue", Answer(200, 0.03, mirrored=True))
    text = metrics.prometheus_text().decode()
    assert (
        'online_deployment_requests_total{deployment="blue",endpoint="ep",'
        'status_class="2xx",status_code="200"} 1.0' in text
    )
    assert (
        'online_deployment_request_duration_seconds_bucket{deployment="blue",endpoint="ep",le="0.02"} 1.0'
        in text
    )
    assert (
        'online_deployment_mirrored_requests_total{deployment="blue",endpoint="ep",'
        'status_class="2xx",status_code="200"} 1.0' in text
    )
    assert (
        'online_deployment_mirrored_request_duration_seconds_bucket{deployment="blue",endpoint="ep",'
        'le="0.03"} 1.0' in text
    )


def test_the_emulator_serves_metrics_of_real_requests(
    emulator, ml_client, registered_models, unique_name, sample_request
):
    name = unique_name("metrics")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    try:
        deployment = ManagedOnlineDeployment(
            name="blue",
            endpoint_name=name,
            model=f"azureml:{registered_models.heart}:1",
            instance_type="Standard_DS3_v2",
            instance_count=1,
            readiness_probe=ProbeSettings(initial_delay=1, period=1),
        )
        ml_client.online_deployments.begin_create_or_update(deployment).result()
        endpoint = ml_client.online_endpoints.get(name)
        endpoint.traffic = {"blue": 100}
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
        headers = {"Authorization": f"Bearer {ml_client.online_endpoints.get_keys(name).primary_key}"}
        uri = emulator.scoring_uri(name)
        with https_client(emulator.ca_file) as client:
            for _ in range(5):
                assert client.post(uri, json=sample_request, headers=headers).status_code == 200
            assert client.post(uri, json={"data": []}, headers=headers).status_code == 400
            assert (
                client.post(uri, content=b"x", headers={**headers, "Content-Type": "text/csv"}).status_code
                == 415
            )
            assert (
                client.post(uri, json=sample_request).status_code == 401
            )  # no deployment chosen: not counted

            row = _row(client.get(f"{emulator.url}/metrics.json").json(), name, "blue")
            text = client.get(f"{emulator.url}/metrics")
    finally:
        ml_client.online_endpoints.begin_delete(name).result()
    assert row["requests"] == {"2xx": 5, "4xx": 2, "5xx": 0}
    assert row["status_codes"] == {"200": 5, "400": 1, "415": 1}
    assert row["latency_ms"]["count"] == 7
    assert row["latency_ms"]["buckets"][-1] == ["+Inf", 7]
    assert 0 < row["latency_ms"]["sum"] < 7 * 1000
    assert text.headers["content-type"].startswith("text/plain")
    labels = f'deployment="blue",endpoint="{name}",status_class="2xx",status_code="200"'
    line = f"online_deployment_requests_total{{{labels}}} 5.0"
    assert line in text.text
