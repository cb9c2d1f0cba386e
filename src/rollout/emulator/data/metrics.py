"""Per-deployment request metrics: Prometheus text at `/metrics`, JSON at `/metrics.json`.

Live requests count by status class with a latency histogram; mirrored requests count apart
(`mirrored`), never in `requests`. The JSON form is what the release tool's canary analysis diffs
between the start and the end of a bake window:

    {"deployments": [{"endpoint": "...", "deployment": "...",
                      "requests": {"2xx": n, "4xx": n, "5xx": n},
                      "status_codes": {"200": n, "424": n, ...}, "mirrored": n,
                      "latency_ms": {"buckets": [[le, cumulative_count], ..., ["+Inf", n]],
                                     "sum": ms, "count": n}}]}
"""

from __future__ import annotations

import threading
from typing import Any

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


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Metrics:
    """Request counters and latency histograms of every deployment, in their own registry."""

    def __init__(self) -> None:
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
            (*_LABELS, "status_class"),
            registry=self.registry,
        )
        self._children: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def observe(self, endpoint: str, deployment: str, status: int, seconds: float, mirrored: bool) -> None:
        """Count one request the deployment answered (or a mirrored copy of one)."""
        key = (endpoint, deployment, status, mirrored)
        children = self._children.get(key)
        if children is None:
            children = self._create_children(*key)
        counter, histogram = children
        counter.inc()
        if histogram is not None:
            histogram.observe(seconds)

    def _create_children(
        self, endpoint: str, deployment: str, status: int, mirrored: bool
    ) -> tuple[Counter, Histogram | None]:
        with self._lock:
            children: tuple[Counter, Histogram | None]
            if mirrored:
                children = (self._mirrored.labels(endpoint, deployment, status_class(status)), None)
            else:
                children = (
                    self._requests.labels(endpoint, deployment, status_class(status), str(status)),
                    self._latency.labels(endpoint, deployment),
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
                    "mirrored": 0,
                    "latency_ms": {"buckets": [], "sum": 0.0, "count": 0},
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
                    row(labels)["mirrored"] += int(sample.value)
                elif sample.name == "online_deployment_request_duration_seconds_bucket":
                    le = labels["le"]
                    bound: float | str = "+Inf" if le == "+Inf" else round(float(le) * 1000, 6)
                    row(labels)["latency_ms"]["buckets"].append([bound, int(sample.value)])
                elif sample.name == "online_deployment_request_duration_seconds_sum":
                    row(labels)["latency_ms"]["sum"] = round(sample.value * 1000, 3)
                elif sample.name == "online_deployment_request_duration_seconds_count":
                    row(labels)["latency_ms"]["count"] = int(sample.value)
        return {"deployments": [rows[key] for key in sorted(rows)]}


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
