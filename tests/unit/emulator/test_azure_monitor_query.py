"""Azure Monitor metric queries over the emulator's request history: time grid, partial minutes,
splits and filters, aggregations, percentiles and Azure's errors."""

from __future__ import annotations

import datetime as dt

import pytest

from rollout.emulator.control.azure_monitor.definitions import ENDPOINT_METRICS, ENDPOINT_NAMESPACE
from rollout.emulator.control.azure_monitor.query import evaluate, parse_filter, parse_query
from rollout.emulator.data.metrics import Answer, Metrics, RequestHistory
from rollout.emulator.errors import BadRequest

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC).timestamp()  # a whole minute


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _history(events: list[tuple[float, str, int, int | None, float]]) -> RequestHistory:
    """A history of requests that arrived at T0 + offset, with their latency in ms."""
    clock = Clock(T0)
    history = RequestHistory(clock=clock)
    for offset, deployment, status, model_status, latency_ms in events:
        clock.now = T0 + offset + latency_ms / 1000
        history.record("ep", deployment, status, model_status, latency_ms / 1000)
    return history


def _iso(offset: float) -> str:
    return dt.datetime.fromtimestamp(T0 + offset, dt.UTC).isoformat().replace("+00:00", "Z")


def _query(history: RequestHistory, **params: str) -> list[dict]:
    query = parse_query(params, ENDPOINT_METRICS, ENDPOINT_NAMESPACE, now=T0 + 3600)
    return evaluate(query, history, "ep")


def _series(value: dict) -> dict[tuple[str, ...], list[dict]]:
    return {tuple(m["value"] for m in s["metadatavalues"]): s["data"] for s in value["timeseries"]}


def test_requests_per_minute_split_by_deployment_and_status_code():
    history = _history(
        [
            (5, "blue", 200, 200, 10),
            (20, "blue", 200, 200, 10),
            (30, "green", 424, 500, 10),
            (70, "blue", 200, 200, 10),
        ]
    )
    [value] = _query(
        history,
        timespan=f"{_iso(0)}/{_iso(180)}",
        interval="PT1M",
        metricnames="RequestsPerMinute",
        aggregation="Total",
        **{"$filter": "deployment eq '*' and statusCode eq '*'"},
    )
    assert value["name"] == {"value": "RequestsPerMinute", "localizedValue": "Requests Per Minute"}
    assert value["unit"] == "Count" and value["errorCode"] == "Success"
    series = _series(value)
    assert series[("blue", "200")] == [
        {"timeStamp": "2026-11-30T09:00:00Z", "total": 2.0},
        {"timeStamp": "2026-11-30T09:01:00Z", "total": 1.0},
        {"timeStamp": "2026-11-30T09:02:00Z"},  # no data: only the time stamp, as Azure's
    ]
    assert series[("green", "424")][0] == {"timeStamp": "2026-11-30T09:00:00Z", "total": 1.0}
    names = [m["name"] for m in value["timeseries"][0]["metadatavalues"]]
    assert names == [
        {"value": "deployment", "localizedValue": "deployment"},
        {"value": "statusCode", "localizedValue": "statusCode"},
    ]


def test_a_timespan_starting_mid_minute_counts_only_requests_inside_it():
    history = _history([(5, "blue", 500, 500, 1), (31, "blue", 200, 200, 1), (40, "blue", 200, 200, 1)])
    [value] = _query(
        history,
        timespan=f"{_iso(30)}/{_iso(50)}",
        metricnames="RequestsPerMinute",
        aggregation="Total,Count",
        **{"$filter": "deployment eq '*' and statusCode eq '*'"},
    )
    # The grid starts at the whole minute (as Azure clips it) but the 500 at :05 is left out.
    assert _series(value) == {
        ("blue", "200"): [{"timeStamp": "2026-11-30T09:00:00Z", "total": 2.0, "count": 1.0}]
    }


def test_filters_keep_values_and_name_them_in_the_series():
    history = _history([(1, "blue", 200, 200, 1), (2, "green", 200, 200, 1), (3, "green", 503, None, 1)])
    [value] = _query(
        history,
        timespan=f"{_iso(0)}/{_iso(60)}",
        metricnames="RequestsPerMinute",
        aggregation="Total",
        **{"$filter": "deployment eq 'green' and (statusCodeClass eq '5xx' or statusCodeClass eq '4xx')"},
    )
    assert _series(value) == {("green", "5xx"): [{"timeStamp": "2026-11-30T09:00:00Z", "total": 1.0}]}
    [model] = _query(
        history,
        timespan=f"{_iso(0)}/{_iso(60)}",
        metricnames="RequestsPerMinute",
        aggregation="Total",
        **{"$filter": "modelStatusCode eq '*'"},
    )
    assert set(_series(model)) == {("200",), ("",)}  # "" when the request never reached the model


def test_no_split_gives_one_series_even_without_data():
    [value] = _query(
        _history([]), timespan=f"{_iso(0)}/{_iso(120)}", metricnames="RequestsPerMinute", aggregation="Total"
    )
    assert value["timeseries"] == [
        {
            "metadatavalues": [],
            "data": [{"timeStamp": "2026-11-30T09:00:00Z"}, {"timeStamp": "2026-11-30T09:01:00Z"}],
        }
    ]
    [split] = _query(
        _history([]),
        timespan=f"{_iso(0)}/{_iso(120)}",
        metricnames="RequestsPerMinute",
        **{"$filter": "deployment eq '*'"},
    )
    assert split["timeseries"] == []


def test_latency_and_its_percentiles_per_deployment():
    events = [(i, "blue", 200, 200, float(ms)) for i, ms in enumerate(range(10, 110, 10))]  # 10..100 ms
    history = _history(events)
    values = _query(
        history,
        timespan=f"{_iso(0)}/{_iso(60)}",
        metricnames="RequestLatency,RequestLatency_P50,RequestLatency_P95",
        aggregation="Average,Maximum,Count",
        **{"$filter": "deployment eq '*'"},
    )
    latency, p50, p95 = (_series(v)[("blue",)][0] for v in values)
    assert latency == {"timeStamp": "2026-11-30T09:00:00Z", "average": 55.0, "maximum": 100.0, "count": 10.0}
    assert p50["average"] == pytest.approx(55.0)
    assert p95["average"] == pytest.approx(95.5)
    assert p95["count"] == 1.0  # one precomputed percentile per minute
    assert values[0]["unit"] == "Milliseconds"


def test_intervals_wider_than_a_minute_aggregate_the_minutes():
    history = _history([(0, "blue", 200, 200, 1), (61, "blue", 200, 200, 1), (62, "blue", 200, 200, 1)])
    [value] = _query(
        history,
        timespan=f"{_iso(0)}/{_iso(300)}",
        interval="PT5M",
        metricnames="RequestsPerMinute",
        aggregation="Total,Average,Maximum",
    )
    assert value["timeseries"][0]["data"] == [
        {"timeStamp": "2026-11-30T09:00:00Z", "total": 3.0, "average": 1.5, "maximum": 2.0}
    ]


def test_unmeasured_metrics_answer_empty_series_and_the_default_aggregation_is_average():
    history = _history([(0, "blue", 200, 200, 1)])
    connections, requests = _query(
        history, timespan=f"{_iso(0)}/{_iso(60)}", metricnames="ConnectionsActive,RequestsPerMinute"
    )
    assert connections["timeseries"] == [
        {"metadatavalues": [], "data": [{"timeStamp": "2026-11-30T09:00:00Z"}]}
    ]
    assert requests["timeseries"][0]["data"] == [{"timeStamp": "2026-11-30T09:00:00Z", "average": 1.0}]


def test_top_keeps_the_largest_series():
    history = _history([(i, f"d{i % 12}", 200, 200, 1) for i in range(12)] + [(20, "d0", 200, 200, 1)])
    [value] = _query(
        history,
        timespan=f"{_iso(0)}/{_iso(60)}",
        metricnames="RequestsPerMinute",
        aggregation="Total",
        **{"$filter": "deployment eq '*'"},
    )
    assert len(value["timeseries"]) == 10
    assert value["timeseries"][0]["metadatavalues"][0]["value"] == "d0"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metricnames": "Nope"}, "Valid metrics: ConnectionsActive"),
        (
            {"metricnames": "RequestLatency", "$filter": "statusCode eq '*'"},
            "does not support requested dimension",
        ),
        ({"metricnames": "RequestsPerMinute", "aggregation": "Median"}, "Invalid aggregation"),
        ({"metricnames": "RequestsPerMinute", "interval": "PT10S"}, "smallest time grain"),
        ({"metricnames": "RequestsPerMinute", "timespan": "yesterday"}, "Invalid timespan"),
        ({"metricnames": "RequestsPerMinute", "$filter": "deployment ne 'x'"}, "Invalid $filter"),
        (
            {"metricnames": "RequestsPerMinute", "metricnamespace": "Microsoft.Compute/virtualMachines"},
            "namespace",
        ),
    ],
)
def test_bad_queries_are_azure_bad_requests(params, message):
    with pytest.raises(BadRequest) as raised:
        parse_query(params, ENDPOINT_METRICS, ENDPOINT_NAMESPACE, now=T0)
    assert message in raised.value.message
    assert raised.value.code == "BadRequest"


def test_timespans_in_every_iso_form():
    for text in (f"{_iso(0)}/{_iso(600)}", f"{_iso(0)}/PT10M", f"PT10M/{_iso(600)}"):
        query = parse_query(
            {"timespan": text, "metricnames": "RequestsPerMinute"},
            ENDPOINT_METRICS,
            ENDPOINT_NAMESPACE,
            now=0,
        )
        assert (query.start, query.end) == (T0, T0 + 600)
    query = parse_query({"timespan": "PT600.0S"}, ENDPOINT_METRICS, ENDPOINT_NAMESPACE, now=T0 + 600)
    assert (query.start, query.end) == (T0, T0 + 600)


def test_filter_parsing():
    assert parse_filter("deployment eq '*' and statusCode eq '*'") == {"deployment": None, "statusCode": None}
    assert parse_filter("(deployment eq 'a' or deployment eq 'b')") == {"deployment": ("a", "b")}
    assert parse_filter("") == {}


def test_history_is_bounded_in_time_and_per_minute():
    clock = Clock(T0)
    history = RequestHistory(clock=clock, retention_seconds=120, max_per_minute=2)
    for _ in range(3):
        history.record("ep", "blue", 200, 200, 0.0)
    assert len(history.requests("ep", T0, T0 + 60)) == 2
    clock.now = T0 + 600
    history.record("EP", "blue", 200, 200, 0.0)  # endpoint names are case-insensitive
    assert len(history.requests("ep", T0, T0 + 60)) == 0
    assert len(history.requests("ep", T0, T0 + 700)) == 1


def test_metrics_record_history_with_the_model_status():
    metrics = Metrics()
    metrics.observe("ep", "blue", Answer(424, 0.01, mirrored=False, model_status=500))
    metrics.observe("ep", "green", Answer(200, 0.01, mirrored=True, model_status=200))
    recorded = metrics.history.requests("ep", 0, 2e10)
    assert [(r.deployment, r.status, r.model_status) for r in recorded] == [
        ("blue", 424, "500"),
        ("green", 200, "200"),
    ]
