"""Time to the first ready instance of a cached environment in a new instance pool (what a freshly
started emulator does for its first deployment of that environment), with and without the
environment's bytecode, side by side.

uv installs no bytecode, and where PYTHONDONTWRITEBYTECODE is set (many containers set it) nothing
ever writes it: every ready process compiled MLflow, pandas, scikit-learn ... again. A ready process
now writes the bytecode of what it imports, so every later one loads it. Each run times a cold start
with the environment's `__pycache__` folders removed first (every start before; now the first one
after a build), then one with what that start kept.

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

from benchmarks.common import demo_model
from benchmarks.worker_start import emulator_instance, model_files

DESCRIPTION = "First ready instance of a cached environment in a new pool, without and with its bytecode."


def cold_start(root: Path, label: str, files: Path, model_uri: str) -> float:
    """Seconds from a new pool's first `prepare` until its instance is ready."""
    from rollout.emulator.environments import EnvironmentCache
    from rollout.emulator.instances.pool import InstancePool

    started = time.perf_counter()
    pool = InstancePool(root / f"logs-{label}", root / f"run-{label}", EnvironmentCache())
    try:
        elapsed, _ = emulator_instance(pool, files, model_uri, "cold", since=started)
    finally:
        pool.close()
    return elapsed


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
            without = cold_start(root, f"{run}-without", files, model_uri)  # compiles, and keeps it
            kept = cold_start(root, f"{run}-with", files, model_uri)
            print(f"run {run}: without bytecode {without:6.2f} s | with it {kept:6.2f} s", flush=True)
            rows.append((without, kept))
    without, kept = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"\nmedian over {len(rows)} runs ({model_uri}): first ready instance in a new pool")
    print(f"  without the environment's bytecode  {without:6.2f} s")
    print(f"  with it                             {kept:6.2f} s   {without / kept:4.1f}x faster")


if __name__ == "__main__":
    main()
