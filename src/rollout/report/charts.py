"""The charts of a stage: candidate against live per interval of the bake (error rate, p95
latency, requests), as data every renderer draws in its own way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rollout.release.history import Entry, Interval

CANDIDATE_COLOUR = "#d9480f"
LIVE_COLOUR = "#1971c2"


@dataclass(frozen=True)
class Series:
    key: str  # candidate or live
    label: str  # e.g. "candidate green"
    colour: str
    values: list[float | None]  # one per interval; None where the interval had no requests


@dataclass(frozen=True)
class Chart:
    key: str  # error-rate, p95, requests
    title: str
    unit: str
    seconds: list[float]  # the end of each interval, seconds into the bake
    series: list[Series]

    @property
    def top(self) -> float:
        """The largest value drawn (at least 1)."""
        return max([v for s in self.series for v in s.values if v is not None] + [1.0])

    @property
    def axis_top(self) -> float:
        """A round upper bound for the value axis, a little above the largest value."""
        return nice_top(self.top * 1.05)


def nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (>= 1)."""
    magnitude = 10 ** (len(str(int(value))) - 1)
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if value <= step * magnitude)


def _error_rate(i: Interval) -> float | None:
    return round(100 * i.error_rate, 2) if i.requests else None


def _p95(i: Interval) -> float | None:
    return i.p95_ms if i.requests else None


def _requests(i: Interval) -> float | None:
    return float(i.requests)


MEASURES: list[tuple[str, str, str, Callable[[Interval], float | None]]] = [
    ("error-rate", "Error rate per interval", "%", _error_rate),
    ("p95", "p95 latency per interval", "ms", _p95),
    ("requests", "Requests per interval", "requests", _requests),
]


def charts_of(entry: Entry) -> list[Chart]:
    """The stage's charts; [] when no timeline was recorded."""
    if not entry.timeline:
        return []
    seconds = [p.at for p in entry.timeline]
    charts = []
    for key, title, unit, measure in MEASURES:
        series = [
            Series(
                "candidate",
                f"candidate {entry.candidate}",
                CANDIDATE_COLOUR,
                [measure(p.candidate) for p in entry.timeline],
            )
        ]
        if entry.live:
            series.append(
                Series("live", f"live {entry.live}", LIVE_COLOUR, [measure(p.live) for p in entry.timeline])
            )
        charts.append(Chart(key, title, unit, seconds, series))
    return charts
