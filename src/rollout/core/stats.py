"""Summaries of measurements: the percentiles of the emulator's latency metrics and of the benchmarks."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], p: float) -> float:
    """The `p`-th percentile (0 to 100) of `values`, interpolated linearly between the closest ranks
    (numpy's default, `statistics.quantiles(method="inclusive")`)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("the percentile of no values")
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
