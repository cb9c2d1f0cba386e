"""The scoring benchmark, start to end: start the servers, measure each target, time the demo."""

from __future__ import annotations

import json
import ssl
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import demo_model, sample
from benchmarks.scoring.demo import Demo, demo_seconds
from benchmarks.scoring.load import Split, latencies, split_exactness, throughput
from benchmarks.scoring.report import Report, machine
from benchmarks.scoring.servers import Emulator, deploy, emulator, instance_port, mlflow_serve, wait_for_ping
from benchmarks.scoring.starts import measure_starts
from benchmarks.scoring.subjects import (
    CLIENTS,
    ENDPOINT,
    ENDPOINT_TARGET,
    INSTANCE_TARGET,
    ROWS,
    SERVE_TARGET,
    SPLIT_ENDPOINT,
    HttpTarget,
    InProcessTarget,
    Target,
    bodies,
)


@dataclass(frozen=True)
class Options:
    """How much to measure (`--quick` is `Options.quick()`), and which model."""

    rounds: int = 10  # interleaved latency rounds
    per_round: int = 30  # requests per target per round
    seconds: float = 5.0  # per throughput run
    split_requests: int = 10_000
    start_runs: int = 3  # first builds and first scores of a cached environment, cold and warmed
    demo: bool = True  # time scripts/demo.sh too
    registry_uri: str | None = None  # None: train the demo model into a temporary registry
    model: str = "heart-classifier/1"  # NAME/VERSION in `registry_uri`


@dataclass
class Servers:
    emu: Emulator
    keys: dict[str, str]  # endpoint keys, by endpoint
    serve_ports: dict[int, int]  # `mlflow models serve`'s ports, by worker count
    model: Any  # the pyfunc model, loaded in this process


@dataclass
class Targets:
    endpoint: HttpTarget
    endpoint_2: HttpTarget  # the endpoint's deployment with 2 workers
    instance: HttpTarget
    serve: HttpTarget
    serve_2: HttpTarget  # `mlflow models serve --workers 2`
    in_process: InProcessTarget


def measure(options: Options) -> Report:
    """Every measurement of the benchmark, in a scratch directory removed afterwards."""
    from rollout import registry

    registry.quiet_logs()
    began = time.perf_counter()
    demo: Demo | None = None
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch, ExitStack() as stack:
        root = Path(scratch)
        registry_uri, model_uri = demo_model(root, options.registry_uri, options.model)
        servers = start_servers(stack, root, registry_uri, model_uri)
        targets = aim(servers)
        check_answers(targets)
        latency, rps, split = load(servers, targets, options)
        stack.close()  # stop the servers before the start times and the demo
        starts = measure_starts(root, registry_uri, model_uri, runs=options.start_runs)
        if options.demo:
            print("timing scripts/demo.sh in a scratch copy of the project ...", flush=True)
            demo = demo_seconds(root)
    seconds = time.perf_counter() - began
    return Report(latency, rps, split, demo, seconds, machine(), starts, targets.instance.function_ms)


def start_servers(stack: ExitStack, root: Path, registry_uri: str, model_uri: str) -> Servers:
    """`mlflow models serve` (1 and 2 workers) and the emulator with its endpoints, all answering;
    `stack` stops them."""
    import mlflow.pyfunc

    name, version = model_uri.removeprefix("models:/").split("/")
    print("starting the emulator and `mlflow models serve` (1 and 2 workers) ...", flush=True)
    serve_ports = {w: stack.enter_context(mlflow_serve(model_uri, registry_uri, root, w)) for w in (1, 2)}
    emu = stack.enter_context(emulator(root, registry_uri))
    keys = deploy(emu, f"azureml:{name}:{version}")
    for port in serve_ports.values():
        wait_for_ping(port)
    mlflow.set_tracking_uri(registry_uri)
    mlflow.set_registry_uri(registry_uri)
    return Servers(emu, keys, serve_ports, mlflow.pyfunc.load_model(model_uri))


def aim(servers: Servers) -> Targets:
    """The targets the servers offer: the endpoint (each deployment), an instance, mlflow's servers."""
    import pandas as pd

    emu = servers.emu
    tls = ssl.create_default_context(cafile=emu.ca_file)
    auth = {"Authorization": f"Bearer {servers.keys[ENDPOINT]}"}
    score_path = f"/online-endpoints/{ENDPOINT}/score"
    azure, mlflow_split = bodies(ROWS, None), bodies(ROWS, "dataframe_split")
    row = sample()
    frames = {n: pd.DataFrame(row["data"] * n, columns=row["columns"]) for n in ROWS}
    return Targets(
        endpoint=HttpTarget(ENDPOINT_TARGET, emu.port, score_path, azure, auth, tls),
        endpoint_2=HttpTarget(
            ENDPOINT_TARGET, emu.port, score_path, azure, {**auth, "azureml-model-deployment": "two"}, tls
        ),
        instance=HttpTarget(INSTANCE_TARGET, instance_port(emu, "one"), "/score", azure),
        serve=HttpTarget(SERVE_TARGET, servers.serve_ports[1], "/invocations", mlflow_split),
        serve_2=HttpTarget(SERVE_TARGET, servers.serve_ports[2], "/invocations", mlflow_split),
        in_process=InProcessTarget("in-process pyfunc.predict", servers.model, frames),
    )


def check_answers(targets: Targets) -> None:
    """Stop unless the endpoint, the instance and `mlflow models serve` predict alike."""
    answers = {
        t.name: json.loads(t.connect()(1)) for t in (targets.endpoint, targets.instance, targets.serve)
    }
    if not answers[ENDPOINT_TARGET] == answers[INSTANCE_TARGET] == answers[SERVE_TARGET]["predictions"]:
        raise SystemExit(f"error: the servers answer differently: {answers}")


def load(
    servers: Servers, targets: Targets, options: Options
) -> tuple[dict[int, dict[str, list[float]]], dict[tuple[str, int], float], Split]:
    """Latency per row count and target, throughput per target and worker count, the split's shares."""
    latency: dict[int, dict[str, list[float]]] = {}
    for n in ROWS:
        print(f"latency, {n}-row requests, {options.rounds} x {options.per_round} per target ...", flush=True)
        measured: list[Target] = [targets.endpoint, targets.instance, targets.serve, targets.in_process]
        latency[n] = latencies(measured, n, options.rounds, options.per_round)
    rps: dict[tuple[str, int], float] = {}
    for workers, pair in ((1, (targets.endpoint, targets.serve)), (2, (targets.endpoint_2, targets.serve_2))):
        for target in pair:
            print(f"throughput, {target.name}, {workers} worker(s), {CLIENTS} clients ...", flush=True)
            rps[target.name, workers] = throughput(target, options.seconds)
    print(f"split exactness over {options.split_requests} requests ...", flush=True)
    split = split_exactness(servers.emu, servers.keys[SPLIT_ENDPOINT], options.split_requests)
    return latency, rps, split
