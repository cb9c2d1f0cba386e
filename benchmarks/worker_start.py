"""Time to a ready model server: `mlflow models serve` against an emulator instance, side by side.

Each run starts the heart classifier both ways and waits until it answers its readiness check
(`GET /ping` for `mlflow models serve`; for the emulator, Azure's inference server's `GET /` in
the model's own environment), then checks that both answer samples/sample.json alike. The emulator
is measured warm (its environment built and its ready process running, which is the case for every
deployment of an environment but the first) and cold (the environment found in the cache, the ready
process started and preloaded). The environment is built once, before the runs, into the
environment cache (`$ROLLOUT_ENVIRONMENTS_DIR`, else `.rollout/environments`).

    .venv/bin/python -m benchmarks.worker_start [--runs 3] [--registry-uri URI --model NAME/VERSION]

Without `--registry-uri`, the demo heart classifier is trained into a temporary registry.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.common import SAMPLE_FILE, answers, demo_model, sample, wait_ready
from rollout.emulator.host.process import free_port

if TYPE_CHECKING:
    from rollout.emulator.instances.pool import InstancePool

DESCRIPTION = "Time to a ready model server: `mlflow models serve` against an emulator instance."


def mlflow_serve(model_uri: str, registry_uri: str, log_dir: Path) -> tuple[float, list[Any]]:
    """Seconds until `mlflow models serve` answers /ping, and its answer to the sample."""
    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=registry_uri, MLFLOW_REGISTRY_URI=registry_uri)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # its uvicorn
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    started = time.perf_counter()
    log_path = log_dir / f"mlflow-serve-{port}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)

    def ready() -> bool:
        if server.poll() is not None:
            raise SystemExit(f"error: mlflow models serve exited:\n{log_path.read_text()[-2000:]}")
        return answers(f"http://127.0.0.1:{port}/ping")

    try:
        wait_ready(ready)
        elapsed = time.perf_counter() - started
        reply = httpx.post(
            f"http://127.0.0.1:{port}/invocations", json={"dataframe_split": sample()}, timeout=30
        )
        return elapsed, list(reply.json()["predictions"])
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)


def emulator_instance(
    pool: InstancePool, files: Path, model_uri: str, name: str, since: float | None = None
) -> tuple[float, list[Any]]:
    """Seconds from `InstancePool.prepare` (or `since`) until the instance is ready, and its answer."""
    from rollout.emulator.resources import Deployment, Probe

    probe = Probe(initial_delay=0, period=1, timeout=2, failure_threshold=120)
    deployment = Deployment(
        endpoint="bench",
        name=name,
        model=model_uri,
        model_uri=model_uri,
        readiness_probe=probe,
        liveness_probe=probe,
    )
    started = time.perf_counter() if since is None else since
    pool.start(deployment, pool.prepare(deployment, files))
    wait_ready(lambda: pool.readiness("bench", name).state != "starting")
    elapsed = time.perf_counter() - started
    readiness = pool.readiness("bench", name)
    if readiness.state != "ready":
        raise SystemExit(f"error: the emulator instance failed: {readiness.reason}")
    instance = pool.ready_instances("bench", name)[0]
    reply = httpx.post(
        f"{instance.url}/score",
        content=SAMPLE_FILE.read_bytes(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    pool.stop("bench", name)
    return elapsed, list(reply.json())


def model_files(registry_uri: str, model_uri: str) -> Path:
    """The model version's directory, as the emulator finds it in the registry."""
    from rollout.emulator.control.model_registry import ModelRegistry
    from rollout.emulator.resources import parse_model_reference

    registry = ModelRegistry(registry_uri)
    found = registry.get_version(*parse_model_reference(model_uri))
    if found is None:
        raise SystemExit(f"error: {model_uri} is not in the registry {registry_uri}")
    return registry.local_files(found)


def timed_run(root: Path, run: int, registry_uri: str, model_uri: str) -> tuple[float, float, float]:
    """Seconds to ready of `mlflow models serve`, a warm emulator instance and a cold one."""
    from rollout.emulator.environments import EnvironmentCache
    from rollout.emulator.instances.pool import InstancePool

    files = model_files(registry_uri, model_uri)
    cold_started = time.perf_counter()
    pool = InstancePool(root / f"logs-{run}", root / f"run-{run}", EnvironmentCache())
    try:
        cold, cold_answer = emulator_instance(pool, files, model_uri, "cold", since=cold_started)
        warm, warm_answer = emulator_instance(pool, files, model_uri, "warm")
    finally:
        pool.close()
    serve, serve_answer = mlflow_serve(model_uri, registry_uri, root)
    if not serve_answer == warm_answer == cold_answer:
        raise SystemExit(f"error: different answers: {serve_answer} {warm_answer} {cold_answer}")
    print(
        f"run {run}: mlflow models serve {serve:6.2f} s | emulator warm {warm * 1000:6.0f} ms"
        f" | emulator cold {cold:5.2f} s | answer {warm_answer}",
        flush=True,
    )
    return serve, warm, cold


def build_environment(files: Path) -> None:
    """Build (or find) the model's environment before the runs, saying how long it took."""
    from rollout.emulator.environments import EnvironmentCache
    from rollout.emulator.instances.runtime import build_environment as build

    started = time.perf_counter()
    environment = build(EnvironmentCache(), files, lambda line: None)
    how = "found in the cache" if environment.cached else "built"
    print(f"environment {environment.key} {how} in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_start", description=DESCRIPTION)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--registry-uri", help="an MLflow registry holding the model (default: train one)")
    parser.add_argument("--model", default="heart-classifier/1", help="NAME/VERSION in that registry")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch:
        root = Path(scratch)
        registry_uri, model_uri = demo_model(root, args.registry_uri, args.model)
        build_environment(model_files(registry_uri, model_uri))
        rows = [timed_run(root, run, registry_uri, model_uri) for run in range(1, args.runs + 1)]

    serve, warm, cold = (statistics.median(column) for column in zip(*rows, strict=True))
    print()
    print(f"median time to ready over {len(rows)} runs ({model_uri}):")
    print(f"  mlflow models serve            {serve:7.2f} s")
    print(f"  emulator instance, warm        {warm:7.3f} s   {serve / warm:6.0f}x faster")
    print(f"  emulator instance, cold start  {cold:7.2f} s   {serve / cold:6.1f}x faster")


if __name__ == "__main__":
    main()
