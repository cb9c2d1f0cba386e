"""Scoring performance, side by side in one run: the emulator's endpoint, its instance called
directly, `mlflow models serve` and in-process `pyfunc.predict`, all serving the demo heart
classifier (issue #14).

Measures, with keep-alive clients: 1-row and 100-row latency (p50/p95, rounds interleaved across
the targets so that a busy machine slows them alike); throughput with 8 concurrent clients at 1 and
2 worker processes (`WORKER_COUNT` in the deployment's environment variables, `mlflow models serve
--workers 2`); the router's overhead (endpoint minus instance, p50); the exactness of a 90/10 split
and a 10% mirror over 10,000 requests; and the time `scripts/demo.sh` takes in a scratch copy of
the project. Prints the table and each goal's ratio, and writes benchmarks/RESULTS.md.

    .venv/bin/python scripts/bench_scoring.py [--quick] [--no-demo] [--profile]

Without `--registry-uri`, the demo heart classifier is trained into a temporary registry.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_worker_start import free_port, train_demo_model, wait_until

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "samples" / "sample.json").read_text())["input_data"]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CLIENTS = 8
ENDPOINT = "bench"
SPLIT_ENDPOINT = "bench-split"


# Targets -------------------------------------------------------------------------------------------


@dataclass
class HttpTarget:
    """A model server reached over HTTP(S) with keep-alive connections."""

    name: str
    port: int
    path: str
    bodies: dict[int, bytes]
    headers: dict[str, str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None

    def connect(self) -> Callable[[int], bytes]:
        """A keep-alive client: call it with a row count, it returns the reply's body."""
        if self.tls is None:
            connection: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", self.port)
        else:
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls)
        headers = {"Content-Type": "application/json", **self.headers}

        def call(rows: int) -> bytes:
            try:
                connection.request("POST", self.path, body=self.bodies[rows], headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()  # the server closed an idle keep-alive connection: reconnect
                connection.request("POST", self.path, body=self.bodies[rows], headers=headers)
                response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"error: {self.name} answered {response.status}: {body[:300]!r}")
            return body

        return call


@dataclass
class InProcessTarget:
    """`pyfunc.predict` on a ready frame, in this process."""

    name: str
    model: Any  # a pyfunc model
    frames: dict[int, Any]  # pandas frames by row count

    def connect(self) -> Callable[[int], bytes]:
        def call(rows: int) -> bytes:
            self.model.predict(self.frames[rows])
            return b""

        return call


Target = HttpTarget | InProcessTarget


def bodies(rows: tuple[int, ...], key: str | None) -> dict[int, bytes]:
    """Request bodies of `rows` copies of the sample row: Azure's `input_data` or MLflow's `dataframe_split`."""
    out = {}
    for count in rows:
        split = {"columns": SAMPLE["columns"], "data": SAMPLE["data"] * count}
        out[count] = json.dumps({key: split} if key else {"input_data": split}).encode()
    return out


# Servers -------------------------------------------------------------------------------------------


@dataclass
class Emulator:
    state_dir: Path
    url: str
    port: int
    ca_file: str
    ml_client: Any  # azure.ai.ml.MLClient


@contextmanager
def emulator(root: Path, registry_uri: str) -> Iterator[Emulator]:
    from rollout.azureml.local_target import LocalTarget
    from rollout.emulator.host import process

    state_dir = root / "emulator"
    status, _ = process.start(state_dir, registry_uri)
    try:
        yield Emulator(state_dir, status.url, status.port, status.ca_file, LocalTarget(state_dir).ml_client())
    finally:
        process.stop(state_dir)


def deploy(emu: Emulator, model: str) -> dict[str, str]:
    """Endpoints `bench` (`one`: 100%, `two`: WORKER_COUNT=2, 0%) and `bench-split` (blue 90%,
    green 10%, shadow mirrored 10%); their keys."""
    from azure.ai.ml.entities import (
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        OnlineRequestSettings,
        ProbeSettings,
    )

    ml = emu.ml_client
    probe = ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=60)

    def deployment(endpoint: str, name: str, workers: int = 1) -> ManagedOnlineDeployment:
        return ManagedOnlineDeployment(
            name=name,
            endpoint_name=endpoint,
            model=model,
            instance_type="Standard_DS3_v2",
            instance_count=1,
            environment_variables={"WORKER_COUNT": str(workers)} if workers > 1 else {},
            request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=CLIENTS),
            readiness_probe=probe,
            liveness_probe=probe,
        )

    plans = {
        ENDPOINT: ([deployment(ENDPOINT, "one"), deployment(ENDPOINT, "two", workers=2)], {"one": 100}, {}),
        SPLIT_ENDPOINT: (
            [deployment(SPLIT_ENDPOINT, name) for name in ("blue", "green", "shadow")],
            {"blue": 90, "green": 10},
            {"shadow": 10},
        ),
    }
    for name in plans:
        ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode="key")).result()
    pollers = [
        ml.online_deployments.begin_create_or_update(deployment)
        for deployments, _, _ in plans.values()
        for deployment in deployments
    ]
    for poller in pollers:
        poller.result()
    keys = {}
    for name, (_, traffic, mirror) in plans.items():
        endpoint = ml.online_endpoints.get(name)
        endpoint.traffic, endpoint.mirror_traffic = traffic, mirror
        ml.online_endpoints.begin_create_or_update(endpoint).result()
        keys[name] = ml.online_endpoints.get_keys(name).primary_key
    return keys


def instance_port(emu: Emulator, deployment: str) -> int:
    """The loopback port of a deployment's instance, from its log."""
    logs = emu.ml_client.online_deployments.get_logs(deployment, ENDPOINT, lines=200)
    ports = re.findall(r"listening on http://127\.0\.0\.1:(\d+)", logs)
    if not ports:
        raise SystemExit(f"error: no instance port in the logs of {deployment}:\n{logs}")
    return int(ports[-1])


@contextmanager
def mlflow_serve(model_uri: str, registry_uri: str, log_dir: Path, workers: int) -> Iterator[int]:
    """`mlflow models serve --workers N`; its port once it answers /ping."""
    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=registry_uri, MLFLOW_REGISTRY_URI=registry_uri)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    command += ["-h", "127.0.0.1", "-p", str(port), "--workers", str(workers)]
    log_path = log_dir / f"mlflow-serve-{workers}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        yield port
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def wait_for_ping(port: int) -> None:
    def ready() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/ping")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    wait_until(ready)


# Measurements --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latencies(targets: list[Target], rows: int, rounds: int, per_round: int) -> dict[str, list[float]]:
    """Milliseconds per request of each target, `rounds` interleaved rounds of `per_round` requests."""
    calls = {target.name: target.connect() for target in targets}
    for call in calls.values():  # warm up: connections, caches
        for _ in range(20):
            call(rows)
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
    deadline = time.monotonic() + 30
    mirrored = 0
    while time.monotonic() < deadline:  # mirrored copies finish in the background
        snapshot = json.loads(_get(emu, f"/metrics.json?endpoint={SPLIT_ENDPOINT}"))
        mirrored = sum(d["mirrored"] for d in snapshot["deployments"] if d["deployment"] == "shadow")
        if mirrored >= requests // 10:
            break
        time.sleep(0.2)
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


# The step of scripts/demo.sh that the "release rehearsal under 90 s" goal times.
DEMO_RELEASE_STEP = "Release version 2 through every stage"


@dataclass
class Demo:
    steps: dict[str, float]  # seconds per step of scripts/demo.sh, and "total"
    failure: str = ""  # the end of its output when it failed


def demo_seconds(scratch: Path) -> Demo:
    """`scripts/demo.sh` in a scratch copy of the project (its own registry): seconds per step."""
    copy = scratch / "project"
    ignore = shutil.ignore_patterns(".git", ".venv", ".rollout", "node_modules", "__pycache__", "*.egg-info")
    shutil.copytree(ROOT, copy, ignore=ignore, symlinks=True)
    (copy / ".venv").symlink_to(Path(sys.prefix))
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    steps: dict[str, float] = {}
    started = last = time.perf_counter()
    step = "start"
    log_path = scratch / "demo.log"
    try:
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                ["bash", "scripts/demo.sh"],
                cwd=copy,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                match = re.search(r"== (.+?)\x1b", line)
                if match:
                    now = time.perf_counter()
                    steps[step] = now - last
                    step, last = match.group(1), now
            process.wait()
        steps[step] = time.perf_counter() - last
        steps["total"] = time.perf_counter() - started
    finally:
        subprocess.run(
            [str(copy / ".venv" / "bin" / "rollout"), "emulator", "stop"],
            cwd=copy,
            env=env,
            capture_output=True,
        )
    if process.returncode != 0:
        tail = log_path.read_text()[-3000:]
        print(f"scripts/demo.sh failed:\n{tail}", flush=True)
        return Demo(steps, tail.strip().splitlines()[-1] if tail.strip() else "no output")
    return Demo(steps)


# Report --------------------------------------------------------------------------------------------


@dataclass
class Goal:
    text: str
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        relation = "<=" if self.at_most else ">="
        verdict = "met" if self.met else "MISSED"
        return (
            f"{self.text}: {self.value:.2f}{self.unit} (goal {relation} {self.limit:g}{self.unit}) {verdict}"
        )


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()} ({platform.machine()}); load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved latency rounds (default 10)")
    parser.add_argument(
        "--per-round", type=int, default=30, help="requests per target per round (default 30)"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput run (default 5)")
    parser.add_argument("--split-requests", type=int, default=10_000)
    parser.add_argument("--no-demo", action="store_true", help="skip timing scripts/demo.sh")
    parser.add_argument(
        "--quick", action="store_true", help="fewer requests: 4 rounds, 2 s runs, 2,000 split requests"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="the results file (default benchmarks/RESULTS.md)"
    )
    parser.add_argument("--registry-uri", help="an MLflow registry holding the model (default: train one)")
    parser.add_argument("--model", default="heart-classifier/1", help="NAME/VERSION in that registry")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.split_requests = 4, 2.0, 2000

    import mlflow.pyfunc
    import pandas as pd

    from rollout import registry

    registry.quiet_logs()
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch, ExitStack() as stack:
        root = Path(scratch)
        if args.registry_uri:
            registry_uri, model_uri = args.registry_uri, f"models:/{args.model}"
        else:
            print("training the demo heart classifier into a temporary registry ...", flush=True)
            registry_uri, model_uri = train_demo_model(root)
        name, version = model_uri.removeprefix("models:/").split("/")
        print("starting the emulator and `mlflow models serve` (1 and 2 workers) ...", flush=True)
        serve_ports = {w: stack.enter_context(mlflow_serve(model_uri, registry_uri, root, w)) for w in (1, 2)}
        emu = stack.enter_context(emulator(root, registry_uri))
        keys = deploy(emu, f"azureml:{name}:{version}")
        for port in serve_ports.values():
            wait_for_ping(port)
        mlflow.set_tracking_uri(registry_uri)
        mlflow.set_registry_uri(registry_uri)
        model = mlflow.pyfunc.load_model(model_uri)

        rows = (1, 100)
        tls = ssl.create_default_context(cafile=emu.ca_file)
        auth = {"Authorization": f"Bearer {keys[ENDPOINT]}"}
        score_path = f"/online-endpoints/{ENDPOINT}/score"
        endpoint = HttpTarget("emulator endpoint", emu.port, score_path, bodies(rows, None), auth, tls)
        endpoint_2 = HttpTarget(
            "emulator endpoint",
            emu.port,
            score_path,
            bodies(rows, None),
            {**auth, "azureml-model-deployment": "two"},
            tls,
        )
        instance = HttpTarget("emulator instance", instance_port(emu, "one"), "/score", bodies(rows, None))
        serve = HttpTarget(
            "mlflow models serve", serve_ports[1], "/invocations", bodies(rows, "dataframe_split")
        )
        serve_2 = HttpTarget(
            "mlflow models serve", serve_ports[2], "/invocations", bodies(rows, "dataframe_split")
        )
        frames = {n: pd.DataFrame(SAMPLE["data"] * n, columns=SAMPLE["columns"]) for n in rows}
        in_process = InProcessTarget("in-process pyfunc.predict", model, frames)
        targets: list[Target] = [endpoint, instance, serve, in_process]

        answers = {t.name: json.loads(t.connect()(1)) for t in (endpoint, instance, serve)}
        if (
            not answers["emulator endpoint"]
            == answers["emulator instance"]
            == answers["mlflow models serve"]["predictions"]
        ):
            raise SystemExit(f"error: the servers answer differently: {answers}")

        latency: dict[int, dict[str, list[float]]] = {}
        for n in rows:
            print(f"latency, {n}-row requests, {args.rounds} x {args.per_round} per target ...", flush=True)
            latency[n] = latencies(targets, n, args.rounds, args.per_round)
        rps: dict[tuple[str, int], float] = {}
        for workers, pair in ((1, (endpoint, serve)), (2, (endpoint_2, serve_2))):
            for target in pair:
                print(f"throughput, {target.name}, {workers} worker(s), {CLIENTS} clients ...", flush=True)
                rps[target.name, workers] = throughput(target, args.seconds)
        print(f"split exactness over {args.split_requests} requests ...", flush=True)
        split = split_exactness(emu, keys[SPLIT_ENDPOINT], args.split_requests)
        stack.close()  # stop the servers before the demo starts its own emulator
        demo = None
        if not args.no_demo:
            print("timing scripts/demo.sh in a scratch copy of the project ...", flush=True)
            demo = demo_seconds(root)

    report = Report(latency, rps, split, demo, time.perf_counter() - begun, machine())
    text = report.markdown()
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    previous = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(text + notes(previous))
    print(f"wrote {args.output}")


@dataclass
class Report:
    latency: dict[int, dict[str, list[float]]]
    rps: dict[tuple[str, int], float]
    split: Split
    demo: Demo | None
    seconds: float
    machine: str

    def p50(self, rows: int, name: str) -> float:
        return statistics.median(self.latency[rows][name])

    def goals(self) -> list[Goal]:
        endpoint, serve, instance = "emulator endpoint", "mlflow models serve", "emulator instance"
        goals = [
            Goal(
                f"endpoint p50 / mlflow models serve p50, {n}-row",
                self.p50(n, endpoint) / self.p50(n, serve),
                0.8,
                "x",
            )
            for n in sorted(self.latency)
        ]
        for workers in (1, 2):
            ratio = self.rps[endpoint, workers] / self.rps[serve, workers]
            goals.append(
                Goal(f"throughput / mlflow models serve, {workers} worker(s)", ratio, 1.2, "x", at_most=False)
            )
        goals.append(
            Goal(
                "router overhead (endpoint - instance), 1-row p50",
                self.p50(1, endpoint) - self.p50(1, instance),
                1.0,
                " ms",
            )
        )
        live_error = max(abs(self.split.live.get("blue", 0) - 90), abs(self.split.live.get("green", 0) - 10))
        goals.append(
            Goal(
                f"90/10 split, worst share error over {self.split.requests} requests", live_error, 0.5, " pp"
            )
        )
        goals.append(Goal("10% mirror, share error", abs(self.split.mirrored - 10), 0.5, " pp"))
        if self.demo is not None:
            release = self.demo.steps.get(DEMO_RELEASE_STEP)
            label = f"make demo's release rehearsal (the step {DEMO_RELEASE_STEP!r})"
            if self.demo.failure or release is None:
                total = self.demo.steps["total"]
                text = f"{label}; the demo FAILED after {total:.0f} s: {self.demo.failure or 'no such step'}"
                goals.append(Goal(text, float("inf"), 90, " s"))
            else:
                goals.append(Goal(label, release, 90, " s"))
        return goals

    def markdown(self) -> str:
        names = list(next(iter(self.latency.values())))
        lines = [
            "# Scoring benchmark (`make bench`)",
            "",
            f"Machine: {self.machine}. Benchmark run: {self.seconds:.0f} s.",
            "",
            "| | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for n in sorted(self.latency):
            cells = [f"{self.p50(n, x):.1f} / {percentile(self.latency[n][x], 95):.1f} ms" for x in names]
            lines.append(f"| {n}-row p50 / p95 | " + " | ".join(cells) + " |")
        for workers in (1, 2):
            cells = [f"{self.rps[x, workers]:.0f} rps" if (x, workers) in self.rps else "" for x in names]
            lines.append(
                f"| 1-row throughput, {CLIENTS} clients, {workers} worker(s) | " + " | ".join(cells) + " |"
            )
        lines += ["", "Split: " + ", ".join(f"{k} {v:.2f}%" for k, v in self.split.live.items())]
        lines[-1] += f"; mirrored {self.split.mirrored:.2f}% (of {self.split.requests} live requests)."
        if self.demo is not None:
            lines += [
                "",
                "scripts/demo.sh: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.demo.steps.items()) + ".",
            ]
            if self.demo.failure:
                lines += ["", "The demo failed:", "", "```", self.demo.failure, "```"]
        lines += ["", "## Goals", ""] + [f"- {goal.line()}" for goal in self.goals()]
        return "\n".join(lines) + "\n"


NOTES_MARK = "\n## Where the time goes\n"


def notes(previous: str) -> str:
    """The hand-written analysis below the measured part of RESULTS.md, kept across runs."""
    _, mark, rest = previous.partition(NOTES_MARK)
    return mark + rest if mark else NOTES_MARK + "\n(profile the scoring path and describe it here)\n"


if __name__ == "__main__":
    main()
