"""Start times for the benchmark's goals: the model's environment built into an empty environment
cache from uv's warm package cache, and a deployment of the cached environment in a new instance
pool (a freshly started emulator) from its start to its first scored request, with the ready
process started by the deployment (cold) and warmed when the pool started (`benchmarks.cold_start`).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cold_start import first_score
from benchmarks.worker_start import model_files


@dataclass(frozen=True)
class Starts:
    """Seconds, medians over `runs`."""

    first_build: float  # an empty environment cache, uv's package cache warm
    cold: float  # deployment start to first score, the ready process started by the deployment
    warmed: float  # the same, the ready process warmed when the pool started
    runs: int


def measure_starts(root: Path, registry_uri: str, model_uri: str, runs: int = 3) -> Starts:
    """Build times and first-score times of the model's environment, `runs` of each."""
    from rollout.emulator.environments import EnvironmentCache
    from rollout.emulator.instances.runtime import build_environment

    files = model_files(registry_uri, model_uri)
    build_environment(EnvironmentCache(), files, _quiet)  # cached, and uv's package cache warm
    print(f"start times: first build, cold and warmed first score, {runs} of each ...", flush=True)
    builds, cold, warmed = [], [], []
    for run in range(1, runs + 1):
        started = time.perf_counter()
        build_environment(EnvironmentCache(root / f"empty-cache-{run}"), files, _quiet)
        builds.append(time.perf_counter() - started)
        cold.append(first_score(root, f"start-{run}-cold", files, model_uri, warmed=False))
        warmed.append(first_score(root, f"start-{run}-warmed", files, model_uri, warmed=True))
    return Starts(statistics.median(builds), statistics.median(cold), statistics.median(warmed), runs)


def _quiet(line: str) -> None:
    """No build progress."""
