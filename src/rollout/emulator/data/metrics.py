"""Per-deployment request metrics: Prometheus text at `/metrics`, JSON at `/metrics.json`.

Live requests count by status code with a latency histogram; mirrored copies count apart, by
status code with a latency histogram of their own, never in `requests`. The JSON form is what the
release tool's canary analysis diffs between the start and the end of a bake window (a shadow
stage judges the candidate on its mirrored copies):

    {"deployments": [{"endpoint": "...", "deployment": "...",
                      "requests": {"2xx": n, "4xx": n, "5xx": n},
                      "status_codes": {"200": n, "424": n, ...},
                      "latency_ms": {"buckets": [[le, cumulative_count], ..., ["+Inf", n]],
                                     "sum": ms, "count": n},
                      "mirrored": n, "mirrored_status_codes": {"200": n, ...},
                      "mirrored_latency_ms": {"buckets": [...], "sum": ms, "count": n}}]}

Besides these cumulative counters it keeps a time-stamped history for Azure Monitor
(`RequestHistory`, read by `rollout.emulator.control.azure_monitor.route`): every live or mirrored request the
endpoint answered, with its arrival time, deployment, status code, the model's status code and
latency, in per-minute buckets per endpoint. Memory is bounded: buckets older than 24 hours are
dropped, and a minute keeps at most `MAX_REQUESTS_PER_MINUTE` requests per endpoint (the rest of
that minute is left out of the history, logged once). Requests are kept one by one (not summed per
minute) so that a series can count only the requests inside a timespan that starts or ends
mid-minute.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Fine enough to estimate a p95 from; in milliseconds, up to Azure's 180 s request timeout.
LATENCY_BUCKETS_MS = (
    1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 2000, 5000, 10000, 30000, 60000, 180000,
)  # fmt: skip
STATUS_CLASSES = ("2xx", "4xx", "5xx")
_LABELS = ("endpoint", "deployment")
HISTORY_SECONDS = 24 * 3600
MAX_REQUESTS_PER_MINUTE = 50_000

log = logging.getLogger("rollout.emulator")


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Answer(NamedTuple):
    """How a deployment answered one request (or a mirrored copy of one)."""

    status: int
    seconds: float
    mirrored: bool = False
    model_status: int | None = None  # what the model's instance answered; None: never reached it


class Metrics:
    """Request counters and latency histograms of every deployment, in their own registry."""

    def __init__(self, history: RequestHistory | None = None) -> None:
        self.history = history or RequestHistory()
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "online_deployment_requests",
            "Scoring requests answered, by deployment and status code.",
            (*_LABELS, "status_class", "status_code"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "online_deployment_request_duration_seconds",
            "Time from routing a scoring request to a deployment until its reply.",
            _LABELS,
            buckets=[ms / 1000 for ms in LATENCY_BUCKETS_MS],
            registry=self.registry,
        )
        self._mirrored = Counter(
            "online_deployment_mirrored_requests",
            "Mirrored copies of live requests sent to the deployment (replies discarded).",
            (*_LABELS, "status_class", "status_code"),
            registry=self.registry,
        )
        self._mirrored_latency = Histogram(
            "online_deployment_mirrored_request_duration_seconds",
            "Time from sending a mirrored copy to the deployment until its (discarded) reply.",
            _LABELS,
            buckets=[ms / 1000 for ms in LATENCY_BUCKETS_MS],
            registry=self.registry,
        )
        self._children: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def observe(self, endpoint: str, deployment: str, answer: Answer) -> None:
        """Count one request the deployment answered (or a mirrored copy of one).

        The history records the request as arriving `answer.seconds` before now."""
        self.history.record(endpoint, deployment, answer.status, answer.model_status, answer.seconds)
        key = (endpoint, deployment, answer.status, answer.mirrored)
        children = self._children.get(key)
        if children is None:
            children = self._create_children(*key)
        counter, histogram = children
        counter.inc()
        histogram.observe(answer.seconds)

    def _create_children(
        self, endpoint: str, deployment: str, status: int, mirrored: bool
    ) -> tuple[Counter, Histogram]:
        with self._lock:
            counter, histogram = (
                (self._mirrored, self._mirrored_latency) if mirrored else (self._requests, self._latency)
            )
            children = (
                counter.labels(endpoint, deployment, status_class(status), str(status)),
                histogram.labels(endpoint, deployment),
            )
            self._children[(endpoint, deployment, status, mirrored)] = children
            return children

    def prometheus_text(self) -> bytes:
        return generate_latest(self.registry)

    def snapshot(self, endpoint: str | None = None) -> dict[str, Any]:
        """The JSON form: cumulative counts per deployment (optionally of one endpoint)."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}

        def row(labels: dict[str, str]) -> dict[str, Any]:
            key = (labels["endpoint"], labels["deployment"])
            if key not in rows:
                rows[key] = {
                    "endpoint": key[0],
                    "deployment": key[1],
                    "requests": dict.fromkeys(STATUS_CLASSES, 0),
                    "status_codes": {},
                    "latency_ms": {"buckets": [], "sum": 0.0, "count": 0},
                    "mirrored": 0,
                    "mirrored_status_codes": {},
                    "mirrored_latency_ms": {"buckets": [], "sum": 0.0, "count": 0},
                }
            return rows[key]

        for family in self.registry.collect():
            for sample in family.samples:
                labels = sample.labels
                if endpoint is not None and labels.get("endpoint") != endpoint:
                    continue
                if sample.name == "online_deployment_requests_total":
                    current = row(labels)
                    requests, codes = current["requests"], current["status_codes"]
                    requests[labels["status_class"]] = requests.get(labels["status_class"], 0) + int(
                        sample.value
                    )
                    codes[labels["status_code"]] = codes.get(labels["status_code"], 0) + int(sample.value)
                elif sample.name == "online_deployment_mirrored_requests_total":
                    current = row(labels)
                    current["mirrored"] += int(sample.value)
                    codes = current["mirrored_status_codes"]
                    codes[labels["status_code"]] = codes.get(labels["status_code"], 0) + int(sample.value)
                elif sample.name.startswith("online_deployment_mirrored_request_duration_seconds_"):
                    _add_latency(row(labels)["mirrored_latency_ms"], sample)
                elif sample.name.startswith("online_deployment_request_duration_seconds_"):
                    _add_latency(row(labels)["latency_ms"], sample)
        return {"deployments": [rows[key] for key in sorted(rows)]}


def _add_latency(histogram: dict[str, Any], sample: Any) -> None:
    """One sample of a latency histogram (`_bucket`, `_sum` or `_count`) into its JSON form, in ms."""
    if sample.name.endswith("_bucket"):
        le = sample.labels["le"]
        bound: float | str = "+Inf" if le == "+Inf" else round(float(le) * 1000, 6)
        histogram["buckets"].append([bound, int(sample.value)])
    elif sample.name.endswith("_sum"):
        histogram["sum"] = round(sample.value * 1000, 3)
    elif sample.name.endswith("_count"):
        histogram["count"] = int(sample.value)


@dataclass(frozen=True)
class RecordedRequest:
    """One request in the history: when it arrived (epoch seconds) and how it was answered."""

    at: float
    deployment: str
    status: int
    model_status: str  # the model's status code, "" when the request never reached the model
    latency_ms: float


@dataclass
class _Minute:
    minute: int  # epoch minute
    requests: list[RecordedRequest] = field(default_factory=list)  # in arrival order, nearly
    full: bool = False


class RequestHistory:
    """Per-endpoint, per-minute history of the requests answered, kept for `retention_seconds`."""

    def __init__(
        self,
        *,
        retention_seconds: float = HISTORY_SECONDS,
        max_per_minute: int = MAX_REQUESTS_PER_MINUTE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._retention = retention_seconds
        self._max_per_minute = max_per_minute
        self._clock = clock
        self._minutes: dict[str, deque[_Minute]] = {}
        self._lock = threading.Lock()

    def record(
        self, endpoint: str, deployment: str, status: int, model_status: int | None, seconds: float
    ) -> None:
        """Record a request answered now after `seconds`."""
        now = self._clock()
        at = now - max(0.0, seconds)
        request = RecordedRequest(
            at=at,
            deployment=deployment,
            status=status,
            model_status="" if model_status is None else str(model_status),
            latency_ms=round(seconds * 1000, 3),
        )
        minute_of = int(at // 60)
        with self._lock:
            minutes = self._minutes.setdefault(endpoint.lower(), deque())
            bucket = self._bucket(minutes, minute_of)
            if len(bucket.requests) >= self._max_per_minute:
                if not bucket.full:
                    bucket.full = True
                    log.warning(
                        "metrics history: minute %s of %s is full; later requests left out",
                        minute_of,
                        endpoint,
                    )
                return
            bucket.requests.append(request)
            self._prune(minutes, now)

    def requests(self, endpoint: str, start: float, end: float) -> list[RecordedRequest]:
        """The endpoint's requests that arrived at or after `start` and before `end`, oldest first."""
        first, last = int(start // 60), int(end // 60)
        with self._lock:
            minutes = self._minutes.get(endpoint.lower(), deque())
            found = [
                request
                for bucket in minutes
                if first <= bucket.minute <= last
                for request in bucket.requests
                if start <= request.at < end
            ]
        return sorted(found, key=lambda request: request.at)

    def _bucket(self, minutes: deque[_Minute], minute_of: int) -> _Minute:
        if minutes and minutes[-1].minute == minute_of:
            return minutes[-1]
        if not minutes or minutes[-1].minute < minute_of:
            minutes.append(_Minute(minute_of))
            return minutes[-1]
        # A request that arrived in an earlier minute than the newest bucket (it took long).
        keys = [bucket.minute for bucket in minutes]
        index = bisect.bisect_left(keys, minute_of)
        if index < len(minutes) and minutes[index].minute == minute_of:
            return minutes[index]
        minutes.insert(index, _Minute(minute_of))
        return minutes[index]

    def _prune(self, minutes: deque[_Minute], now: float) -> None:
        oldest = int((now - self._retention) // 60)
        while minutes and minutes[0].minute < oldest:
            minutes.popleft()


def routes(metrics: Metrics) -> list[Route]:
    """`GET /metrics` (Prometheus text format) and `GET /metrics.json` (`?endpoint=` to filter)."""

    async def prometheus(request: Request) -> Response:
        return Response(metrics.prometheus_text(), media_type=CONTENT_TYPE_LATEST)

    async def as_json(request: Request) -> Response:
        return JSONResponse(metrics.snapshot(request.query_params.get("endpoint")))

    return [
        Route("/metrics", prometheus, methods=["GET"], name="metrics"),
        Route("/metrics.json", as_json, methods=["GET"], name="metrics_json"),
    ]
