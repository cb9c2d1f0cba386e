"""Time to a ready `azmlinfsrv` (Azure's inference server) serving the demo model in its own
environment, as `rollout.emulator.instances.inference_server` starts it.

The demo model's environment is built first (uv, from the package index, into a temporary cache
unless `--cache` names one), then the server is started `--runs` times one after another on the
model (the project's no-code MLflow scoring script), each timed from start to `GET /` answering
200, asked samples/sample.json once and stopped. The first start after the build is reported as
cold, the others as warm (the environment's files in the OS cache, nothing kept running).

    .venv/bin/python -m benchmarks.azmlinfsrv_start [--runs 3] [--cache DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import SAMPLE_FILE
from rollout.emulator.environments import BuiltEnvironment, EnvironmentCache, for_mlflow_model
from rollout.emulator.host.process import free_port
from rollout.emulator.instances.inference_server import ScoringScript, ServerLaunch, start

READY_TIMEOUT_S = 120.0


def timed_start(environment: BuiltEnvironment, model_dir: Path, run_dir: Path) -> tuple[float, float]:
    """Seconds from start to ready, and to stopped after one request."""
    server = start(ServerLaunch(environment, ScoringScript.mlflow_model(model_dir), run_dir, free_port()))
    try:
        ready = server.wait_ready(READY_TIMEOUT_S)
        reply = httpx.post(
            f"{server.url}/score",
            content=SAMPLE_FILE.read_bytes(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        reply.raise_for_status()
    finally:
        stopping = time.perf_counter()
        server.stop()
    return ready, time.perf_counter() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.azmlinfsrv_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="the environment cache (default: a temporary one)")
    args = parser.parse_args()

    from rollout.demo_model.training import save, train

    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch:
        root = Path(scratch)
        model_dir = root / "azureml-models" / "heart-classifier" / "1"
        save(train(1, 0), model_dir / "model")
        building = time.perf_counter()
        environment = EnvironmentCache(args.cache or root / "environments").build(
            for_mlflow_model(model_dir / "model")
        )
        built = "cached" if environment.cached else "built"
        print(f"environment {environment.key}: {built} in {time.perf_counter() - building:.1f} s", flush=True)
        times = []
        for run in range(1, args.runs + 1):
            ready, stop = timed_start(environment, model_dir, root / f"run-{run}")
            label = "cold" if run == 1 else "warm"
            print(f"run {run} ({label}): ready {ready:5.2f} s, stopped in {stop:4.2f} s", flush=True)
            times.append(ready)

    warm = f", warm median {statistics.median(times[1:]):.2f} s" if len(times) > 1 else ""
    print(f"\nazmlinfsrv time to ready: cold {times[0]:.2f} s{warm}")


if __name__ == "__main__":
    main()
