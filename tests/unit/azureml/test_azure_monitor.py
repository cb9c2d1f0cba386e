"""Azure Monitor numbers: the shapes Azure documents, parsed into per-deployment window stats."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse

from rollout.azureml.azure_monitor import CAVEAT, AzureMonitorMetrics, stats_from_azure_series
from rollout.azureml.cloud import CloudEndpoints

ENDPOINT_ID = (
    "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices"
    "/workspaces/w/onlineEndpoints/ep"
)


def test_counts_split_by_deployment_and_status_code() -> None:
    counts = [
        ({"deployment": "green", "statusCode": "200"}, [90.0]),
        ({"deployment": "green", "statusCode": "424"}, [6.0]),
        ({"deployment": "green", "statusCode": "400"}, [4.0]),
        ({"Deployment": "blue", "StatusCode": "200"}, [900.0]),
    ]
    p95s = [({"deployment": "green"}, [12.0, None, 30.0]), ({"deployment": "blue"}, [10.0])]
    stats = stats_from_azure_series(counts, p95s)
    green = stats["green"]
    assert (green.ok, green.errors, green.client_errors, green.requests) == (90, 6, 4, 100)
    assert green.p95_ms == pytest.approx(30.0)
    assert (stats["blue"].ok, stats["blue"].p95_ms) == (900, pytest.approx(10.0))


def test_empty_minutes_and_null_aggregates_count_nothing() -> None:
    counts = [({"deployment": "green", "statusCode": "200"}, [None, 5.0, None, 7.0])]
    p95s = [({"deployment": "green"}, [None, None])]
    green = stats_from_azure_series(counts, p95s)["green"]
    assert green.requests == 12
    assert green.p95_ms is None  # no latency minute measured: no p95, not a p95 of 0


def test_lowercase_dimension_names_as_azure_sometimes_returns_them() -> None:
    counts = [({"deployment": "green", "statuscode": "503"}, [3.0]), ({"DEPLOYMENT": "green"}, [1.0])]
    green = stats_from_azure_series(counts, [({"deployment": "green"}, [40.0])])["green"]
    assert (green.errors, green.requests) == (3, 3)


@pytest.mark.parametrize("status", [None, "", "  ", "NA"])
def test_a_series_without_a_status_code_is_not_status_0(status: str | None) -> None:
    dims: dict[str, str | None] = {"deployment": "green", "statusCode": status}
    counts = [(dims, [50.0]), ({"deployment": "green", "statusCode": "200"}, [10.0])]
    green = stats_from_azure_series(counts, [])["green"]
    assert (green.ok, green.client_errors, green.errors) == (10, 0, 0)


def test_a_series_without_a_deployment_belongs_to_none() -> None:
    counts = [
        ({"statusCode": "404"}, [8.0]),
        ({"deployment": "", "statusCode": "404"}, [2.0]),
        ({"deployment": None, "statusCode": "200"}, [2.0]),
    ]
    assert stats_from_azure_series(counts, [({"deployment": None}, [5.0])]) == {}


def test_latency_without_counts_makes_no_deployment() -> None:
    assert stats_from_azure_series([], [({"deployment": "green"}, [12.0])]) == {}


# -- the client, on Azure's REST responses -------------------------------------------------------


class _Credential:
    scopes: tuple[str, ...] = ()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        _Credential.scopes = scopes
        return AccessToken("token", 2**31)


class _Canned(HttpTransport):
    """Answers each request with the next canned JSON body; records the URLs."""

    def __init__(self, bodies: list[dict]) -> None:
        self.bodies, self.urls = bodies, []

    def __enter__(self) -> _Canned:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.urls.append(request.url)
        data = json.dumps(self.bodies.pop(0)).encode()
        raw = requests.Response()
        raw.status_code, raw.raw, raw._content = 200, io.BytesIO(data), data
        raw.headers["Content-Type"] = "application/json"
        response = RestRequestsTransportResponse(request=request, internal_response=raw)
        response._content = data
        return response


def _metric(name: str, series: list[dict]) -> dict:
    return {
        "cost": 0,
        "timespan": "2026-11-30T09:00:00Z/2026-11-30T09:10:00Z",
        "interval": "PT1M",
        "namespace": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "resourceregion": "eastus",
        "value": [
            {
                "id": f"{ENDPOINT_ID}/providers/Microsoft.Insights/metrics/{name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "displayDescription": "",
                "unit": "Count",
                "errorCode": "Success",
                "timeseries": series,
            }
        ],
    }


def _dims(**values: str) -> list[dict]:
    return [{"name": {"value": k, "localizedValue": k}, "value": v} for k, v in values.items()]


def test_the_client_queries_the_endpoint_on_the_clouds_resource_manager() -> None:
    counts = _metric(
        "RequestsPerMinute",
        [
            {
                "metadatavalues": _dims(deployment="green", statuscode="200"),
                "data": [
                    {"timeStamp": "2026-11-30T09:00:00Z", "total": 12.0},
                    {"timeStamp": "2026-11-30T09:01:00Z"},
                ],
            },
            {
                "metadatavalues": _dims(deployment="green", statuscode="500"),
                "data": [{"timeStamp": "2026-11-30T09:00:00Z", "total": 3.0}],
            },
            {"metadatavalues": [], "data": [{"timeStamp": "2026-11-30T09:00:00Z", "total": 9.0}]},
        ],
    )
    latency = _metric(
        "RequestLatency_P95",
        [
            {
                "metadatavalues": _dims(deployment="green"),
                "data": [
                    {"timeStamp": "2026-11-30T09:00:00Z", "average": 20.5},
                    {"timeStamp": "2026-11-30T09:01:00Z", "average": None},
                ],
            }
        ],
    )
    transport = _Canned([counts, latency])
    cloud = CloudEndpoints("SomeCloud", "https://management.example.test:8443", "https://login.example.test")
    source = AzureMonitorMetrics(ENDPOINT_ID, _Credential(), cloud, transport=transport)
    stats = source.snapshot("ep")
    assert (stats["green"].ok, stats["green"].errors) == (12, 3)
    assert stats["green"].p95_ms == pytest.approx(20.5)
    assert _Credential.scopes == ("https://management.example.test:8443/.default",)
    assert all(
        url.startswith(
            f"https://management.example.test:8443{ENDPOINT_ID}/providers/Microsoft.Insights/metrics?"
        )
        for url in transport.urls
    )
    assert "metricnames=RequestsPerMinute" in transport.urls[0]
    assert "metricnames=RequestLatency_P95" in transport.urls[1]
    assert source.caveat == CAVEAT
