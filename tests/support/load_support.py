"""Helpers of the resilience tests: a steady client load on an endpoint, a metrics source that
can be made to fail (a real HTTP server in front of the emulator's metrics), an instance's pid."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

from rollout.azureml.connection import Connection
from rollout.azureml.metrics_sources import EmulatorMetrics, MetricsSource
from rollout.project.samples import SampleSet

if TYPE_CHECKING:
    from rollout.release.steps import Release


@dataclass(frozen=True)
class Sent:
    """One request of the load and its reply."""

    rows: int
    status: int
    deployment: str | None  # the `azureml-model-deployment` reply header: who served it
    body: Any

    @property
    def valid(self) -> bool:
        """A 200 with one prediction (a class, 0 or 1) per row."""
        return (
            self.status == 200
            and isinstance(self.body, list)
            and len(self.body) == self.rows
            and all(label in (0, 1) for label in self.body)
        )


class SteadyLoad:
    """`threads` keep-alive clients, each sending requests of 1 to 3 sample rows back to back to
    the endpoint (no deployment header) until stopped; every reply is kept."""

    def __init__(self, rel: Release, threads: int = 8) -> None:
        rows = SampleSet.load(rel.project.root / "samples").single_rows()
        columns = rows[0]["input_data"]["columns"]
        data = [row["input_data"]["data"][0] for row in rows]
        self.requests = [
            {"input_data": {"columns": columns, "data": data[i : i + size]}}
            for i, size in zip(range(len(data) - 3), itertools.cycle((1, 2, 3)), strict=False)
        ]
        self._rel = rel
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]
        self.sent: list[Sent] = []

    def _run(self, offset: int) -> None:
        with self._rel.conn.scoring(self._rel.endpoint_name) as client:
            for request in itertools.islice(itertools.cycle(self.requests), offset, None):
                if self._stop.is_set():
                    return
                reply = client.score(request)
                rows = len(request["input_data"]["data"])
                self.sent.append(Sent(rows, reply.status, reply.deployment, reply.body))

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            assert time.monotonic() < deadline, f"only {len(self.sent)} of {count} requests in {timeout} s"
            time.sleep(0.1)

    def statuses_by_deployment(self) -> dict[str | None, Counter[int]]:
        counts: dict[str | None, Counter[int]] = {}
        for sent in list(self.sent):
            counts.setdefault(sent.deployment, Counter())[sent.status] += 1
        return counts


class FailingMetricsProxy:
    """A local HTTP server in front of the emulator's /metrics.json that can be told to answer 500
    (`mode = "500"`), to fail the next `fail_next` reads only, or be shut down (unreachable)."""

    def __init__(self, upstream: str, verify: str | bool) -> None:
        proxy = self
        self.mode = "ok"
        self.fail_next = 0
        self.reads = Counter[str]()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                failing = proxy.mode == "500" or proxy.fail_next > 0
                proxy.fail_next = max(0, proxy.fail_next - 1)
                proxy.reads["failed" if failing else "ok"] += 1
                if failing:
                    status, body = 500, b'{"error": "metrics backend down"}'
                else:
                    upstream_reply = httpx.get(upstream + self.path, verify=verify, timeout=10)
                    status, body = upstream_reply.status_code, upstream_reply.content
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def shut_down(self) -> None:
        """Stop serving and close the port: reads are refused from now on."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)


@dataclass
class ConnectionWithMetrics(Connection):
    """The lab's connection, reading the canary numbers from `metrics_url` instead."""

    metrics_url: str = ""

    def metrics(self, endpoint_name: str) -> MetricsSource:
        return EmulatorMetrics(self.metrics_url, self.verify)


def instance_pid(logs: str) -> int | None:
    """The pid of the newest instance named in a deployment's logs."""
    pids = re.findall(r"\(pid (\d+)\) listening", logs)
    return int(pids[-1]) if pids else None
