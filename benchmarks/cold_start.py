"""Time from a deployment's start to its first scored request, when its environment is cached but
the emulator has just started (a new instance pool), three ways side by side in each run:

- without the environment's bytecode: the ready process compiles MLflow, pandas, scikit-learn ...
  as it imports them (every start before bytecode was kept; now the first start after a build,
  where PYTHONDONTWRITEBYTECODE is set, as in many containers);
- with its bytecode: the ready process starts with the deployment and imports (what the first
  deployment of a cached environment waited for before environments were warmed);
- warmed: the pool warmed the cached environments used most recently when it started (what the
  emulator does, `ROLLOUT_EMULATOR_WARM_ENVIRONMENTS`), and the deployment came after those imports.

Each time runs from `InstancePool.prepare` (the provisioning of a deployment PUT, the environment
found in the cache) to the first answer of `POST /score` on its instance.

    .venv/bin/python -m benchmarks.cold_start [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import SAMPLE_FILE, demo_model, wait_ready
from benchmarks.worker_start import model_files

DESCRIPTION = "A cached environment's first scored request in a new pool: cold, with bytecode, warmed."
READY_PROCESS_TIMEOUT_SECONDS = 120.0


def first_score(root: Path, label: str, files: Path, model_uri: str, *, warmed: bool) -> float:
    """Seconds from a new pool's first `prepare` until its instance answers a scoring request;
    `warmed`: the pool warmed up first (`warm_recent`: the cache's most recent environment's ready
    process and this machine's interpreters), and its imports are done."""
    from rollout.emulator.environments import EnvironmentCache
    from rollout.emulator.instances.pool import InstancePool
    from rollout.emulator.resources import Deployment, Probe

    cache = EnvironmentCache()
    pool = InstancePool(root / f"logs-{label}", root / f"run-{label}", cache)
    try:
        if warmed:
            pool.warm_recent(1)  # what the emulator does when it starts
            for ready in pool.ready_processes():
                if not ready.wait_ready(READY_PROCESS_TIMEOUT_SECONDS):
                    raise SystemExit("error: the warmed ready process did not become ready")
        probe = Probe(initial_delay=0, period=1, timeout=2, failure_threshold=120)
        deployment = Deployment(
            endpoint="bench",
            name=label,
            model=model_uri,
            model_uri=model_uri,
            readiness_probe=probe,
            liveness_probe=probe,
        )
        started = time.perf_counter()
        pool.start(deployment, pool.prepare(deployment, files))
        wait_ready(lambda: pool.readiness("bench", label).state != "starting")
        readiness = pool.readiness("bench", label)
        if readiness.state != "ready":
            raise SystemExit(f"error: the emulator instance failed: {readiness.reason}")
        instance = pool.ready_instances("bench", label)[0]
        reply = httpx.post(
            f"{instance.url}/score",
            content=SAMPLE_FILE.read_bytes(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        elapsed = time.perf_counter() - started
        if reply.status_code != 200:
            raise SystemExit(f"error: the instance answered {reply.status_code}: {reply.text}")
        return elapsed
    finally:
        pool.close()


def drop_bytecode(environment: Path) -> int:
    """Remove the environment's `__pycache__` folders; how many there were."""
    folders = list(environment.rglob("__pycache__"))
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=DESCRIPTION)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # as in the containers it matters in
    from rollout.emulator.environments import EnvironmentCache
    from rollout.emulator.instances.runtime import build_environment

    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch:
        root = Path(scratch)
        registry_uri, model_uri = demo_model(root, None, "heart-classifier/1")
        files = model_files(registry_uri, model_uri)
        environment = build_environment(EnvironmentCache(), files, lambda line: None).path
        rows = []
        for run in range(1, args.runs + 1):
            drop_bytecode(environment)
            without = first_score(root, f"{run}-without", files, model_uri, warmed=False)  # keeps it
            kept = first_score(root, f"{run}-with", files, model_uri, warmed=False)
            warm = first_score(root, f"{run}-warmed", files, model_uri, warmed=True)
            print(
                f"run {run}: without bytecode {without:6.2f} s | with it {kept:6.2f} s"
                f" | warmed {warm:6.2f} s",
                flush=True,
            )
            rows.append((without, kept, warm))
    without, kept, warm = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"\nmedian over {len(rows)} runs ({model_uri}): deployment start to first scored request")
    print(f"  without the environment's bytecode  {without:6.2f} s")
    print(f"  with it                             {kept:6.2f} s   {without / kept:4.1f}x faster")
    print(
        f"  warmed when the pool started        {warm:6.2f} s   {kept / warm:4.1f}x faster than with"
        " the bytecode alone"
    )


if __name__ == "__main__":
    main()
