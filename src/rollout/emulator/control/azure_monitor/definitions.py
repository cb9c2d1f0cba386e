"""The Azure Monitor metrics Azure publishes for managed online endpoints and their deployments.

From Microsoft Learn's "Supported metrics" pages for
`Microsoft.MachineLearningServices/workspaces/onlineEndpoints` (category Traffic) and
`.../onlineEndpoints/deployments` (category Resource). Every metric has a time grain of PT1M.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"


class Source(Enum):
    """What the emulator computes a metric from."""

    REQUEST_COUNT = "request_count"  # requests per minute
    LATENCY = "latency"  # every request's latency
    LATENCY_PERCENTILE = "latency_percentile"  # one percentile of the latencies per minute
    NONE = "none"  # not measured by the emulator: empty series


@dataclass(frozen=True)
class MetricDefinition:
    """One published metric: its REST name, display name, unit, dimensions and description."""

    name: str
    display_name: str
    unit: str
    primary_aggregation: str
    dimensions: tuple[str, ...]
    description: str
    source: Source = Source.NONE
    percentile: float = 0.0


def _latency_percentile(p: int) -> MetricDefinition:
    return MetricDefinition(
        f"RequestLatency_P{p}",
        f"Request Latency P{p}",
        "Milliseconds",
        "Average",
        ("deployment",),
        f"The P{p} of the total time taken to respond to requests, per minute.",
        Source.LATENCY_PERCENTILE,
        float(p),
    )


ENDPOINT_METRICS: tuple[MetricDefinition, ...] = (
    MetricDefinition(
        "ConnectionsActive",
        "Active connection count",
        "Count",
        "Average",
        (),
        "The total number of concurrent TCP connections active from clients.",
    ),
    MetricDefinition(
        "DataCollectionErrorsPerMinute",
        "Data Collection Errors Per Minute",
        "Count",
        "Average",
        ("deployment", "reason", "type"),
        "The number of data collection events dropped per minute.",
    ),
    MetricDefinition(
        "DataCollectionEventsPerMinute",
        "Data Collection Events Per Minute",
        "Count",
        "Average",
        ("deployment", "type"),
        "The number of data collection events processed per minute.",
    ),
    MetricDefinition(
        "NetworkBytes", "Network bytes", "BytesPerSecond", "Average", (), "The bytes per second served."
    ),
    MetricDefinition(
        "NewConnectionsPerSecond",
        "New connections per second",
        "CountPerSecond",
        "Average",
        (),
        "The average number of new TCP connections per second established from clients.",
    ),
    MetricDefinition(
        "RequestLatency",
        "Request Latency",
        "Milliseconds",
        "Average",
        ("deployment",),
        "The complete interval of time taken for a request to be responded.",
        Source.LATENCY,
    ),
    _latency_percentile(50),
    _latency_percentile(90),
    _latency_percentile(95),
    _latency_percentile(99),
    MetricDefinition(
        "RequestsPerMinute",
        "Requests Per Minute",
        "Count",
        "Average",
        ("deployment", "statusCode", "statusCodeClass", "modelStatusCode"),
        "The number of requests sent to online endpoint within a minute.",
        Source.REQUEST_COUNT,
    ),
)


def _resource_metric(name: str, display: str, unit: str, dimensions: tuple[str, ...]) -> MetricDefinition:
    return MetricDefinition(
        name, display, unit, "Average", dimensions, f"{display} of the deployment's instances."
    )


DEPLOYMENT_METRICS: tuple[MetricDefinition, ...] = (
    _resource_metric(
        "CpuMemoryUtilizationPercentage", "CPU Memory Utilization Percentage", "Percent", ("instanceId",)
    ),
    _resource_metric("CpuUtilizationPercentage", "CPU Utilization Percentage", "Percent", ("instanceId",)),
    _resource_metric(
        "DataCollectionErrorsPerMinute",
        "Data Collection Errors Per Minute",
        "Count",
        ("instanceId", "reason", "type"),
    ),
    _resource_metric(
        "DataCollectionEventsPerMinute", "Data Collection Events Per Minute", "Count", ("instanceId", "type")
    ),
    _resource_metric("DeploymentCapacity", "Deployment Capacity", "Count", ("instanceId", "State")),
    _resource_metric("DiskUtilization", "Disk Utilization", "Percent", ("instanceId", "disk")),
    _resource_metric("GpuEnergyJoules", "GPU Energy in Joules", "Count", ("instanceId",)),
    _resource_metric(
        "GpuMemoryUtilizationPercentage", "GPU Memory Utilization Percentage", "Percent", ("instanceId",)
    ),
    _resource_metric("GpuUtilizationPercentage", "GPU Utilization Percentage", "Percent", ("instanceId",)),
)
