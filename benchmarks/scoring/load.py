"""The scoring benchmark's load: interleaved latency rounds, concurrent throughput, a split's shares."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass

from benchmarks.scoring.servers import Emulator
from benchmarks.scoring.subjects import CLIENTS, SPLIT_ENDPOINT, HttpTarget, Target, bodies
from rollout.core.waiting import wait_until

MIRROR_WAIT_SECONDS = 30.0  # for the mirrored copies, which finish in the background


def latencies(targets: list[Target], rows: int, rounds: int, per_round: int) -> dict[str, list[float]]:
    """Milliseconds per request of each target, `rounds` interleaved rounds of `per_round` requests."""
    calls = {target.name: target.connect() for target in targets}
    for call in calls.values():  # warm up: connections, caches
        for _ in range(20):
            call(rows)
    for target in targets:
        if isinstance(target, HttpTarget):
            target.function_ms.pop(rows, None)  # only the measured rounds' run() times
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            for _ in range(per_round):
                started = time.perf_counter()
                call(rows)
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def throughput(target: HttpTarget, seconds: float, clients: int = CLIENTS) -> float:
    """Requests per second of `clients` concurrent keep-alive clients sending 1-row requests."""
    calls = [target.connect() for _ in range(clients)]
    for call in calls:
        call(1)
    stop = threading.Event()
    counts = [0] * clients

    def run(index: int) -> None:
        call = calls[index]
        while not stop.is_set():
            call(1)
            counts[index] += 1

    with concurrent.futures.ThreadPoolExecutor(clients) as executor:
        futures = [executor.submit(run, index) for index in range(clients)]
        started = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    return sum(counts) / elapsed


@dataclass
class Split:
    requests: int
    live: dict[str, float]  # percent of the live requests per deployment
    mirrored: float  # mirrored requests, percent of the live ones


def split_exactness(emu: Emulator, key: str, requests: int) -> Split:
    """Send `requests` live requests to the 90/10 endpoint (8 clients); the measured shares."""
    target = HttpTarget(
        "split",
        emu.port,
        f"/online-endpoints/{SPLIT_ENDPOINT}/score",
        bodies((1,), None),
        {"Authorization": f"Bearer {key}"},
        ssl.create_default_context(cafile=emu.ca_file),
    )
    served: Counter[str] = Counter()
    lock = threading.Lock()

    def run(count: int) -> None:
        connection = http.client.HTTPSConnection("127.0.0.1", emu.port, context=target.tls)
        headers = {"Content-Type": "application/json", **target.headers}
        for _ in range(count):
            connection.request("POST", target.path, body=target.bodies[1], headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                served[response.getheader("azureml-model-deployment", "?")] += 1
        connection.close()

    shares = [requests // CLIENTS + (1 if i < requests % CLIENTS else 0) for i in range(CLIENTS)]
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as executor:
        for future in [executor.submit(run, n) for n in shares]:
            future.result()
    mirrored = 0

    def all_mirrored() -> bool:
        nonlocal mirrored
        snapshot = json.loads(_get(emu, f"/metrics.json?endpoint={SPLIT_ENDPOINT}"))
        mirrored = sum(d["mirrored"] for d in snapshot["deployments"] if d["deployment"] == "shadow")
        return mirrored >= requests // 10

    wait_until(all_mirrored, MIRROR_WAIT_SECONDS, interval=0.2)
    total = sum(served.values())
    return Split(total, {name: 100 * n / total for name, n in sorted(served.items())}, 100 * mirrored / total)


def _get(emu: Emulator, path: str) -> bytes:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", emu.port, context=ssl.create_default_context(cafile=emu.ca_file), timeout=10
    )
    try:
        connection.request("GET", path)
        return connection.getresponse().read()
    finally:
        connection.close()
