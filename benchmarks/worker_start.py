"""Time to a ready model server: `mlflow models serve` against an emulator instance, side by side.

Each run starts the heart classifier both ways and waits until it answers its readiness check
(`GET /ping` for `mlflow models serve`, the instance's `/ready` for the emulator), then checks that
both answer samples/sample.json alike. The emulator is measured warm (its fork server already
running, which is the case for every deployment but the first) and cold (including the fork
server's start-up).

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
    pool: InstancePool, model_uri: str, name: str, since: float | None = None
) -> tuple[float, list[Any]]:
    """Seconds from `InstancePool.start` (or `since`) until the instance is ready, and its answer."""
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
    pool.start(deployment)
    wait_ready(lambda: pool.readiness("bench", name).state != "starting")
    elapsed = time.perf_counter() - started
    readiness = pool.readiness("bench", name)
    if readiness.state != "ready":
        raise SystemExit(f"error: the emulator instance failed: {readiness.reason}")
    instance = pool.ready_instances("bench", name)[0]
    reply = httpx.post(f"{instance.url}/score", content=SAMPLE_FILE.read_bytes(), timeout=30)
    pool.stop("bench", name)
    return elapsed, list(reply.json())


def timed_run(root: Path, run: int, registry_uri: str, model_uri: str) -> tuple[float, float, float]:
    """Seconds to ready of `mlflow models serve`, a warm emulator instance and a cold one."""
    from rollout.emulator.instances.pool import InstancePool

    cold_started = time.perf_counter()
    pool = InstancePool(root / f"logs-{run}", registry_uri)
    try:
        cold, cold_answer = emulator_instance(pool, model_uri, "cold", since=cold_started)
        warm, warm_answer = emulator_instance(pool, model_uri, "warm")
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_start", description=DESCRIPTION)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--registry-uri", help="an MLflow registry holding the model (default: train one)")
    parser.add_argument("--model", default="heart-classifier/1", help="NAME/VERSION in that registry")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch:
        root = Path(scratch)
        registry_uri, model_uri = demo_model(root, args.registry_uri, args.model)
        rows = [timed_run(root, run, registry_uri, model_uri) for run in range(1, args.runs + 1)]

    serve, warm, cold = (statistics.median(column) for column in zip(*rows, strict=True))
    print()
    print(f"median time to ready over {len(rows)} runs ({model_uri}):")
    print(f"  mlflow models serve            {serve:7.2f} s")
    print(f"  emulator instance, warm        {warm:7.3f} s   {serve / warm:6.0f}x faster")
    print(f"  emulator instance, cold start  {cold:7.2f} s   {serve / cold:6.1f}x faster")


if __name__ == "__main__":
    main()
