"""Azure Monitor metric queries answered from the emulator's request history (rules, no HTTP).

A query names metrics, a timespan, an interval, aggregations and an OData `$filter`
(`deployment eq '*' and statusCode eq '*'`: `'*'` splits the series by that dimension, a value keeps
only that value and names it in the series; `or` joins values of one dimension). The reply is Azure
Monitor's REST shape: one entry per metric, one time series per combination of the filtered
dimensions, one point per interval from the start of the timespan clipped down to a whole interval,
as Azure does. Intervals without data carry only `timeStamp`, as Azure's do.

Finer than Azure: a series counts only the requests that arrived inside the requested timespan
(at or after its start, before its end), even when the timespan starts or ends mid-minute; Azure
counts whole minutes. Short bakes of a few seconds rely on this. Azure also publishes its metrics
minutes late; the emulator has them at once.

How the aggregations read (each point covers one interval):
- `RequestsPerMinute`: one sample per minute with requests, the number of requests in it; `total`
  is the number of requests in the interval, `average`/`minimum`/`maximum` are over the minutes'
  counts, `count` is the number of minutes with requests.
- `RequestLatency`: one sample per request, its latency in milliseconds.
- `RequestLatency_P50`...`_P99`: one sample per minute, that percentile of the minute's latencies.
- Mirrored requests count under the mirror deployment, as Azure's metrics of a shadow deployment do.
- The other published metrics are not measured: their series have no data.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import isodate

from rollout.core.stats import percentile
from rollout.emulator.control.azure_monitor.definitions import MetricDefinition, Source
from rollout.emulator.errors import BadRequest

AGGREGATIONS = {
    "total": "total",
    "average": "average",
    "count": "count",
    "maximum": "maximum",
    "minimum": "minimum",
}
DEFAULT_TOP = 10
_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


class Recorded(Protocol):
    """A request in the history (`rollout.emulator.data.metrics.RecordedRequest`)."""

    @property
    def at(self) -> float: ...
    @property
    def deployment(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def model_status(self) -> str: ...
    @property
    def latency_ms(self) -> float: ...


class History(Protocol):
    """The request history the metrics come from (`rollout.emulator.data.metrics.RequestHistory`)."""

    def requests(self, endpoint: str, start: float, end: float) -> Sequence[Recorded]: ...


@dataclass(frozen=True)
class Query:
    """A parsed metrics query."""

    start: float
    end: float
    interval: float
    interval_text: str
    metrics: tuple[MetricDefinition, ...]
    aggregations: tuple[str, ...] | None  # None: each metric's primary aggregation
    filters: dict[str, tuple[str, ...] | None]  # dimension -> accepted values (None: all, split)
    top: int
    order_by: tuple[str, bool] | None  # aggregation, descending


def parse_query(
    params: Mapping[str, str], catalogue: Sequence[MetricDefinition], namespace: str, now: float
) -> Query:
    """Parse the query parameters (raises BadRequest as Azure Monitor does)."""
    start, end = parse_timespan(params.get("timespan"), now)
    interval_text = params.get("interval") or "PT1M"
    interval = _interval_seconds(interval_text, end - start)
    metrics = _metrics(params.get("metricnames") or "", catalogue, namespace)
    requested_namespace = params.get("metricnamespace")
    if requested_namespace and requested_namespace.lower() != namespace.lower():
        raise BadRequest(
            f"Metric namespace '{requested_namespace}' is not valid for this resource; use '{namespace}'."
        )
    aggregations = _aggregations(params.get("aggregation"))
    filters = parse_filter(params.get("$filter") or "")
    for metric in metrics:
        known = {d.lower() for d in metric.dimensions}
        for dimension in filters:
            if dimension.lower() not in known:
                raise BadRequest(
                    f"Metric: {metric.name} does not support requested dimension combination: "
                    f"{','.join(filters)}, supported ones are: {','.join(metric.dimensions) or '(none)'}"
                )
    top = params.get("top") or str(DEFAULT_TOP)
    if not top.isdigit():
        raise BadRequest(f"Invalid top value '{top}': an integer is required.")
    return Query(
        start,
        end,
        interval,
        interval_text,
        metrics,
        aggregations,
        filters,
        int(top),
        _order_by(params.get("orderby")),
    )


def parse_timespan(text: str | None, now: float) -> tuple[float, float]:
    """`start/end`, `start/duration`, `duration/end` or `duration` (ending now) as epoch seconds."""
    if not text:
        return now - 3600, now
    try:
        if "/" not in text:
            return now - isodate.parse_duration(text).total_seconds(), now
        first, second = text.split("/", 1)
        if first.upper().startswith("P"):
            end = _instant(second)
            return end - isodate.parse_duration(first).total_seconds(), end
        start = _instant(first)
        if second.upper().startswith("P"):
            return start, start + isodate.parse_duration(second).total_seconds()
        end = _instant(second)
    except (ValueError, isodate.ISO8601Error, AttributeError):
        raise BadRequest(f"Invalid timespan '{text}': use ISO 8601 '<start>/<end>'.") from None
    if end <= start:
        raise BadRequest(f"Invalid timespan '{text}': the end must be after the start.")
    return start, end


def parse_filter(text: str) -> dict[str, tuple[str, ...] | None]:
    """`a eq '*' and (b eq 'x' or b eq 'y')` as {a: None, b: ('x', 'y')}."""
    filters: dict[str, tuple[str, ...] | None] = {}
    if not text.strip():
        return filters
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        clause = clause.strip()
        if clause.startswith("(") and clause.endswith(")"):
            clause = clause[1:-1]
        values: list[str] = []
        dimension = None
        for part in re.split(r"\s+or\s+", clause, flags=re.IGNORECASE):
            match = _CLAUSE.match(part)
            if match is None:
                raise BadRequest(
                    f"Invalid $filter '{text}': use \"<dimension> eq '<value or *>'\" joined with 'and'."
                )
            if dimension is not None and match.group(1).lower() != dimension.lower():
                raise BadRequest(f"Invalid $filter '{text}': 'or' may only join values of one dimension.")
            dimension = match.group(1)
            values.append(match.group(2))
        assert dimension is not None
        filters[dimension] = None if "*" in values else tuple(values)
    return filters


def evaluate(query: Query, history: History, endpoint: str) -> list[dict[str, Any]]:
    """The `value` list of the reply: one entry per metric, its series and their points."""
    requests = history.requests(endpoint, query.start, query.end) if endpoint else []
    return [_metric_series(query, metric, requests) for metric in query.metrics]


def grid(query: Query) -> list[float]:
    """The start of every interval: from the timespan's start clipped down to a whole interval."""
    first = math.floor(query.start / query.interval) * query.interval
    count = max(1, math.ceil((query.end - first) / query.interval))
    return [first + i * query.interval for i in range(count)]


def iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metric_series(query: Query, metric: MetricDefinition, requests: Sequence[Recorded]) -> dict[str, Any]:
    aggregations = query.aggregations or (metric.primary_aggregation.lower(),)
    dimensions = [_canonical(metric, name) for name in query.filters]
    groups: dict[tuple[str, ...], list[Recorded]] = {}
    if metric.source is not Source.NONE:
        for request in requests:
            values = _dimension_values(request)
            if all(_accepts(query.filters[name], values[_canonical(metric, name)]) for name in query.filters):
                groups.setdefault(tuple(values[d] for d in dimensions), []).append(request)
    if not dimensions and not groups:
        groups[()] = []
    starts = grid(query)
    series = []
    for key, members in groups.items():
        points = [_point(metric, members, start, query.interval, aggregations) for start in starts]
        series.append(
            {
                "metadatavalues": [
                    {"name": {"value": name, "localizedValue": name}, "value": value}
                    for name, value in zip(dimensions, key, strict=True)
                ],
                "data": points,
            }
        )
    if dimensions:
        series = _top(series, query, aggregations[0])
    return {
        "name": {"value": metric.name, "localizedValue": metric.display_name},
        "displayDescription": metric.description,
        "unit": metric.unit,
        "errorCode": "Success",
        "timeseries": series,
    }


def _point(
    metric: MetricDefinition,
    members: Sequence[Recorded],
    start: float,
    interval: float,
    aggregations: Iterable[str],
) -> dict[str, Any]:
    inside = [r for r in members if start <= r.at < start + interval]
    samples = _samples(metric, inside)
    point: dict[str, Any] = {"timeStamp": iso(start)}
    if not samples:
        return point
    values = {
        "total": sum(samples),
        "average": sum(samples) / len(samples),
        "count": float(len(samples)),
        "maximum": max(samples),
        "minimum": min(samples),
    }
    for aggregation in aggregations:
        point[aggregation] = round(values[aggregation], 3)
    return point


def _samples(metric: MetricDefinition, requests: Sequence[Recorded]) -> list[float]:
    if metric.source is Source.LATENCY:
        return [r.latency_ms for r in requests]
    per_minute: dict[int, list[Recorded]] = {}
    for request in requests:
        per_minute.setdefault(int(request.at // 60), []).append(request)
    if metric.source is Source.REQUEST_COUNT:
        return [float(len(minute)) for _, minute in sorted(per_minute.items())]
    if metric.source is Source.LATENCY_PERCENTILE:
        return [
            percentile((r.latency_ms for r in minute), metric.percentile)
            for _, minute in sorted(per_minute.items())
        ]
    return []


def _dimension_values(request: Recorded) -> dict[str, str]:
    return {
        "deployment": request.deployment,
        "statusCode": str(request.status),
        "statusCodeClass": f"{request.status // 100}xx",
        "modelStatusCode": request.model_status,
    }


def _canonical(metric: MetricDefinition, name: str) -> str:
    return next(d for d in metric.dimensions if d.lower() == name.lower())


def _accepts(values: tuple[str, ...] | None, value: str) -> bool:
    return values is None or any(v.lower() == value.lower() for v in values)


def _top(series: list[dict[str, Any]], query: Query, aggregation: str) -> list[dict[str, Any]]:
    key, descending = query.order_by or (aggregation, True)

    def weight(entry: dict[str, Any]) -> float:
        return float(sum(point.get(key, 0.0) for point in entry["data"]))

    ordered = sorted(series, key=weight, reverse=descending)
    return ordered[: query.top]


def _instant(text: str) -> float:
    parsed = isodate.parse_datetime(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _interval_seconds(text: str, span: float) -> float:
    if text.upper() == "FULL":
        return span
    try:
        seconds = isodate.parse_duration(text).total_seconds()
    except (isodate.ISO8601Error, ValueError):
        raise BadRequest(f"Invalid interval '{text}': use an ISO 8601 duration such as PT1M.") from None
    if seconds < 60:
        raise BadRequest(f"Invalid interval '{text}': the smallest time grain is PT1M.")
    return seconds


def _metrics(
    names: str, catalogue: Sequence[MetricDefinition], namespace: str
) -> tuple[MetricDefinition, ...]:
    by_name = {metric.name.lower(): metric for metric in catalogue}
    wanted = [name.strip() for name in names.split(",") if name.strip()] or [catalogue[0].name]
    unknown = [name for name in wanted if name.lower() not in by_name]
    if unknown:
        provider, _, resource_type = namespace.partition("/")
        raise BadRequest(
            f"Failed to find metric configuration for provider: {provider}, resource Type: {resource_type}, "
            f"metric: {unknown[0]}, Valid metrics: {', '.join(metric.name for metric in catalogue)}"
        )
    return tuple(by_name[name.lower()] for name in wanted)


def _aggregations(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    chosen = []
    for name in (part.strip().lower() for part in text.split(",") if part.strip()):
        if name not in AGGREGATIONS:
            raise BadRequest(f"Invalid aggregation '{name}': use Total, Average, Count, Maximum or Minimum.")
        chosen.append(AGGREGATIONS[name])
    return tuple(chosen) or None


def _order_by(text: str | None) -> tuple[str, bool] | None:
    if not text:
        return None
    name, _, direction = text.strip().partition(" ")
    if name.lower() not in AGGREGATIONS:
        raise BadRequest(f"Invalid orderby '{text}': use '<aggregation> asc|desc'.")
    return AGGREGATIONS[name.lower()], direction.strip().lower() != "asc"
