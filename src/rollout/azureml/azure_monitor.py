"""Canary numbers from Azure Monitor: the endpoint's platform metrics, split by deployment.

Azure publishes request metrics of managed online endpoints on the *endpoint* resource
(`Microsoft.MachineLearningServices/workspaces/onlineEndpoints`) with a `deployment` dimension:
`RequestsPerMinute` (also split by `statusCode`) and `RequestLatency_P95`, one point a minute.
The deployment resource only carries resource metrics (CPU, memory, disk), so it is not queried.
A deployment's mirrored requests (mirror traffic: a shadow stage) are requests it served, so they
count under its `deployment` value like any other; with no live traffic they are all it serves.

The client is azure-monitor-query's `MetricsQueryClient` (1.4.x; 2.0 dropped it), built on the
resource manager of the same cloud as the `MLClient` (`rollout.azureml.cloud`), so sovereign and
custom clouds work like the public one.

Ingestion delay: Azure Monitor publishes platform metrics one to three minutes after the fact. A
window's snapshot asks for everything from the start of the stage to a minute past now; what Azure
has not ingested yet is missing from it, and `CAVEAT` says so in every verdict judged on these
numbers. Bake windows on Azure should be several minutes long (the shipped plan's are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rollout.azureml.metrics_sources import MetricsUnavailable, WindowStats

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from rollout.azureml.cloud import CloudEndpoints

REQUESTS = "RequestsPerMinute"
LATENCY_P95 = "RequestLatency_P95"
CAVEAT = (
    "numbers from Azure Monitor, which publishes them a few minutes late: "
    "requests of the window's last minutes may not be counted"
)

Dimensions = Mapping[str, str | None]


class AzureMonitorMetrics:
    """Azure Monitor metrics of one managed online endpoint (by resource id), per deployment.

    Snapshots count from `since` (default: when the source is made, i.e. when the stage starts).
    Azure reports a precomputed p95 per minute, so the latency "histogram" of a deployment is a
    single bucket at the worst minute's p95.
    """

    caveat: str | None = CAVEAT

    def __init__(
        self,
        endpoint_resource_id: str,
        credential: TokenCredential,
        cloud: CloudEndpoints,
        since: datetime | None = None,
        **client_options: Any,  # azure-core's client options (transport, retry...), passed through
    ) -> None:
        from azure.monitor.query import MetricsQueryClient

        self._resource = endpoint_resource_id
        self._client = MetricsQueryClient(
            credential, endpoint=cloud.resource_manager, audience=cloud.resource_manager, **client_options
        )
        self._since = since or datetime.now(UTC)

    def snapshot(self, endpoint: str) -> dict[str, WindowStats]:
        from azure.core.exceptions import AzureError

        from rollout.azureml.sdk import azure_message

        try:
            return self._query()
        except AzureError as exc:
            raise MetricsUnavailable(f"Azure Monitor: {azure_message(exc)}") from exc

    def _query(self) -> dict[str, WindowStats]:
        from azure.monitor.query import MetricAggregationType

        span = (self._since, datetime.now(UTC) + timedelta(minutes=1))
        counts = self._client.query_resource(
            self._resource,
            metric_names=[REQUESTS],
            timespan=span,
            granularity=timedelta(minutes=1),
            aggregations=[MetricAggregationType.TOTAL],
            filter="deployment eq '*' and statusCode eq '*'",
        )
        latency = self._client.query_resource(
            self._resource,
            metric_names=[LATENCY_P95],
            timespan=span,
            granularity=timedelta(minutes=1),
            aggregations=[MetricAggregationType.AVERAGE],
            filter="deployment eq '*'",
        )
        return stats_from_azure_series(
            (
                (series.metadata_values or {}, [point.total for point in series.data or []])
                for metric in counts.metrics
                for series in metric.timeseries or []
            ),
            (
                (series.metadata_values or {}, [point.average for point in series.data or []])
                for metric in latency.metrics
                for series in metric.timeseries or []
            ),
        )


def stats_from_azure_series(
    counts: Iterable[tuple[Dimensions, Sequence[float | None]]],
    p95s: Iterable[tuple[Dimensions, Sequence[float | None]]],
) -> dict[str, WindowStats]:
    """Per-deployment stats from Azure Monitor time series.

    `counts`: `RequestsPerMinute` totals per minute, split by `deployment` and `statusCode`;
    `p95s`: `RequestLatency_P95` averages per minute, split by `deployment` (the worst minute is
    taken). As Azure documents them: dimension names in any case, minutes without data (None),
    series whose dimension value is missing or empty. A series without a deployment belongs to no
    deployment and one without a status code says nothing about failures: both are left out.
    """
    by_deployment: dict[str, dict[int, int]] = {}
    for dimensions, totals in counts:
        deployment, code = _dimension(dimensions, "deployment"), _status_code(dimensions)
        if not deployment or code is None:
            continue
        codes = by_deployment.setdefault(deployment, {})
        codes[code] = codes.get(code, 0) + round(sum(total or 0.0 for total in totals))
    worst: dict[str, float] = {}
    for dimensions, values in p95s:
        deployment = _dimension(dimensions, "deployment")
        measured = [value for value in values if value is not None]
        if deployment and measured:
            worst[deployment] = max([*measured, worst.get(deployment, 0.0)])
    stats = {}
    for name, codes in by_deployment.items():
        requests = sum(codes.values())
        point = worst.get(name)
        # all requests at the reported p95: a bucket of zero width, so the p95 read back is exact
        buckets: tuple[tuple[float, int], ...] = (
            ((point, 0), (point, requests), (float("inf"), requests))
            if point is not None and requests
            else ()
        )
        stats[name] = WindowStats.from_status_codes(codes, buckets)
    return stats


def _dimension(dimensions: Dimensions, name: str) -> str | None:
    for key, value in dimensions.items():
        if key.lower() == name.lower():
            return value.strip() if isinstance(value, str) and value.strip() else None
    return None


def _status_code(dimensions: Dimensions) -> int | None:
    value = _dimension(dimensions, "statusCode")
    return int(value) if value is not None and value.isdigit() and int(value) > 0 else None
