"""The bake's probe load holds each deployment to what it takes at once, so its own probes never
fill a deployment's queue (Azure answers 429 past twice its concurrency), and a slow deployment
takes no slot of the other's."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from azure.ai.ml.entities import ManagedOnlineDeployment, OnlineRequestSettings

from rollout.azureml.scoring import DEPLOYMENT_HEADER, ScoringClient
from rollout.project.samples import SampleSet
from rollout.release.bake import ProbeLoad, ProbeTarget, probe_in_flight, probe_targets

SAMPLES = SampleSet({"sample.json": {"input_data": {"columns": ["a"], "data": [[1], [2], [3]]}}})


class Deployments:
    """What a loopback server saw: requests by deployment header, the most held at once by each;
    `slow` deployments hold their requests until `release` is set."""

    def __init__(self, slow: set[str]) -> None:
        self.slow, self.release = slow, threading.Event()
        self.received: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self._now: Counter[str] = Counter()
        self._lock = threading.Lock()

    def serve(self, deployment: str) -> None:
        with self._lock:
            self.received[deployment] += 1
            self._now[deployment] += 1
            self.most[deployment] = max(self.most[deployment], self._now[deployment])
        if deployment in self.slow:
            self.release.wait(10)
        with self._lock:
            self._now[deployment] -= 1


@contextmanager
def scoring_server(deployments: Deployments) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            deployments.serve(self.headers.get(DEPLOYMENT_HEADER, "endpoint"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            """No access log: the test counts what it received instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/score"
    finally:
        deployments.release.set()
        server.shutdown()
        server.server_close()


def test_a_slow_deployment_holds_no_more_probes_than_it_takes_and_none_of_the_others() -> None:
    deployments = Deployments(slow={"green"})
    with scoring_server(deployments) as url:
        client = ScoringClient(url, "key")
        targets = [ProbeTarget("green", 2), ProbeTarget("blue", 3)]
        with ProbeLoad(client, SAMPLES, targets, rps=200) as load:
            time.sleep(0.6)
            deployments.release.set()
    assert deployments.most["green"] == 2  # the slow one: its two slots, never more
    assert deployments.received["blue"] >= 10  # of some 60 ticks (every other of 200 a second): not held back
    assert deployments.most["blue"] <= 3
    assert load.sent == deployments.received["green"] + deployments.received["blue"]


def test_a_deployment_takes_its_instances_times_their_concurrency() -> None:
    def deployment(instances: int, per_instance: int | None) -> ManagedOnlineDeployment:
        settings = OnlineRequestSettings(max_concurrent_requests_per_instance=per_instance)
        return ManagedOnlineDeployment(
            name="green", endpoint_name="e", instance_count=instances, request_settings=settings
        )

    assert probe_in_flight(deployment(3, 4)) == 12
    assert probe_in_flight(deployment(2, None)) == 2  # Azure's default concurrency: 1 per instance
    assert probe_in_flight(ManagedOnlineDeployment(name="green", endpoint_name="e")) == 1


def test_a_shadow_stage_probes_the_endpoint_within_the_smaller_deployment() -> None:
    in_flight = {"green": 8, "blue": 4}
    assert probe_targets("green", "blue", False, in_flight) == [
        ProbeTarget("green", 8),
        ProbeTarget("blue", 4),
    ]
    assert probe_targets("green", "blue", True, in_flight) == [ProbeTarget(None, 4)]
    assert probe_targets("green", None, False, in_flight) == [ProbeTarget("green", 8)]  # a first release
    assert probe_targets("green", None, False, {}) == [ProbeTarget("green", 1)]
