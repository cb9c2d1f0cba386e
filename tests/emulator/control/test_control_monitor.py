"""Azure Monitor metrics of a real endpoint after real scoring requests, read with the real
azure-monitor-query `MetricsQueryClient` from the cloud's resource manager (the emulator as a cloud,
the Azure CLI credential), and Azure Monitor's errors."""

from __future__ import annotations

import time

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, ProbeSettings

from chaos_support import https_client
from cloud_support import run_in_cloud

METRICS = "/providers/Microsoft.Insights/metrics"


@pytest.fixture(scope="module")
def scored_endpoint(emulator, ml_client, registered_models, unique_name, sample_request):
    """An endpoint whose blue deployment answered 3 requests with 200 and 1 with 400, and when."""
    name = unique_name("monitor")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
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
    with https_client(emulator.ca_file) as client:
        client.post(emulator.scoring_uri(name), json=sample_request, headers=headers)  # before the window
        time.sleep(0.2)
        since = time.time()
        for _ in range(3):
            assert (
                client.post(emulator.scoring_uri(name), json=sample_request, headers=headers).status_code
                == 200
            )
        assert client.post(emulator.scoring_uri(name), json={"data": []}, headers=headers).status_code == 400
    try:
        yield name, since
    finally:
        ml_client.online_endpoints.begin_delete(name).result()


def test_azure_monitor_query_reads_the_endpoint_metrics(emulator, scored_endpoint, tmp_path):
    name, since = scored_endpoint
    resource_id = emulator.endpoint_path(name)
    code = f"""
        import datetime as dt, json
        from azure.identity import DefaultAzureCredential
        from azure.monitor.query import MetricAggregationType, MetricsQueryClient

        rm = "{emulator.url}"
        client = MetricsQueryClient(DefaultAzureCredential(), endpoint=rm, audience=rm)
        since = dt.datetime.fromtimestamp({since}, dt.timezone.utc)
        window = (since, dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1))
        counts = client.query_resource(
            "{resource_id}", ["RequestsPerMinute"], timespan=window, granularity=dt.timedelta(minutes=1),
            aggregations=[MetricAggregationType.TOTAL], filter="deployment eq '*' and statusCode eq '*'",
        )
        latency = client.query_resource(
            "{resource_id}", ["RequestLatency_P95"], timespan=window, granularity=dt.timedelta(minutes=1),
            aggregations=[MetricAggregationType.AVERAGE], filter="deployment eq '*'",
        )
        rpm = counts.metrics["RequestsPerMinute"]
        p95 = latency.metrics[0]
        print(json.dumps({{
            "granularity": str(counts.granularity),
            "namespace": counts.namespace,
            "unit": rpm.unit,
            "totals": {{
                s.metadata_values["deployment"] + "/" + s.metadata_values["statusCode"]:
                sum(p.total or 0 for p in s.data) for s in rpm.timeseries
            }},
            "p95": [p.average for s in p95.timeseries for p in s.data if p.average is not None],
            "p95_deployments": [s.metadata_values["deployment"] for s in p95.timeseries],
        }}))
    """
    seen = run_in_cloud(emulator.url, emulator.ca_file, emulator.state_dir, tmp_path, code)
    assert seen["totals"] == {"blue/200": 3, "blue/400": 1}  # the request before the window is left out
    assert seen["granularity"] == "0:01:00"
    assert seen["namespace"] == "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    assert seen["unit"] == "Count"
    assert seen["p95_deployments"] == ["blue"]
    assert len(seen["p95"]) >= 1 and all(0 < ms < 30_000 for ms in seen["p95"])


def test_the_rest_shape_and_azure_monitor_errors(emulator, scored_endpoint):
    name, since = scored_endpoint
    path = emulator.endpoint_path(name) + METRICS
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 600))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    with emulator.arm() as arm:
        arm.params = {"api-version": "2018-01-01"}  # type: ignore[assignment]
        reply = arm.get(
            path,
            params={"timespan": f"{start}/{end}", "metricnames": "RequestsPerMinute", "aggregation": "Total"},
        )
        unknown = arm.get(path, params={"metricnames": "Nope"})
        missing = arm.get(
            emulator.endpoint_path("no-such-endpoint") + METRICS, params={"metricnames": "RequestsPerMinute"}
        )
        deployment = arm.get(
            emulator.deployment_path(name, "blue") + METRICS,
            params={"metricnames": "CpuUtilizationPercentage"},
        )
    with emulator.https() as anonymous:
        unauthenticated = anonymous.get(path, params={"api-version": "2024-02-01"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"cost", "timespan", "interval", "value", "namespace", "resourceregion"}
    assert body["interval"] == "PT1M"
    [metric] = body["value"]
    assert metric["id"] == emulator.endpoint_path(name) + METRICS + "/RequestsPerMinute"
    assert metric["type"] == "Microsoft.Insights/metrics"
    assert metric["errorCode"] == "Success"
    [series] = metric["timeseries"]
    assert series["metadatavalues"] == []
    assert sum(point.get("total", 0) for point in series["data"]) == 5
    assert len(series["data"]) >= 11 and all("timeStamp" in point for point in series["data"])
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "BadRequest" and "RequestLatency_P95" in unknown.json()["message"]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"
    assert deployment.status_code == 200
    assert deployment.json()["value"][0]["timeseries"][0]["metadatavalues"] == []
    assert unauthenticated.status_code == 401
