"""Where canary analysis gets its numbers: per-deployment request counts and latencies.

A source returns cumulative `WindowStats` per deployment; the analysis diffs two snapshots taken
at the start and the end of a bake window. A deployment's stats count every request it answered,
the mirrored copies it was sent included (a shadow stage's candidate serves only those).
- Local target: the emulator's `/metrics.json` (requests and mirrored copies, added up).
- Azure: the endpoint's Azure Monitor metrics, split by the `deployment` dimension
  (`rollout.azureml.azure_monitor`), which count a deployment's mirrored requests under its name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from rollout.azureml.recording import recorder
from rollout.azureml.scoring import tls_verify
from rollout.core.errors import UserError

# the 4xx that are the deployment's doing on Azure ML: 408 timeout, 424 model error, 429 overloaded
DEPLOYMENT_FAULTS = frozenset({408, 424, 429})


@dataclass(frozen=True)
class WindowStats:
    """What one deployment served during a window."""

    ok: int = 0  # 2xx
    client_errors: int = 0  # 4xx the caller caused
    errors: int = 0  # 5xx and the 4xx in DEPLOYMENT_FAULTS: failed by the deployment
    latency_buckets: tuple[tuple[float, int], ...] = ()  # (upper bound ms, cumulative count)

    @classmethod
    def from_status_codes(
        cls, codes: dict[int, int], latency_buckets: tuple[tuple[float, int], ...] = ()
    ) -> WindowStats:
        ok = sum(n for code, n in codes.items() if code < 400)
        errors = sum(n for code, n in codes.items() if code >= 500 or code in DEPLOYMENT_FAULTS)
        client = sum(codes.values()) - ok - errors
        return cls(ok=ok, client_errors=client, errors=errors, latency_buckets=latency_buckets)

    @property
    def requests(self) -> int:
        return self.ok + self.client_errors + self.errors

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def p95_ms(self) -> float | None:
        return quantile(self.latency_buckets, 0.95)

    def minus(self, earlier: WindowStats) -> WindowStats:
        """The window between an earlier cumulative snapshot and this one."""
        before = dict(earlier.latency_buckets)
        return WindowStats(
            ok=self.ok - earlier.ok,
            client_errors=self.client_errors - earlier.client_errors,
            errors=self.errors - earlier.errors,
            latency_buckets=tuple((le, n - before.get(le, 0)) for le, n in self.latency_buckets),
        )


def quantile(buckets: Sequence[tuple[float, int]], q: float) -> float | None:
    """Estimate a quantile from cumulative histogram buckets, interpolating inside a bucket."""
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0
    for upper_bound, count in buckets:
        if count >= rank:
            if math.isinf(upper_bound):
                return lower_bound
            in_bucket = count - lower_count
            share = (rank - lower_count) / in_bucket if in_bucket else 1.0
            return lower_bound + (upper_bound - lower_bound) * share
        lower_bound, lower_count = upper_bound, count
    return lower_bound


class MetricsUnavailable(UserError):
    """The metrics source could not be read (unreachable, an error reply, or an unreadable one)."""


class MetricsSource(Protocol):
    caveat: str | None  # what a verdict judged on these numbers should say about them, if anything

    def snapshot(self, endpoint: str) -> dict[str, WindowStats]:
        """Cumulative stats of every deployment of the endpoint, keyed by deployment name.

        Raises MetricsUnavailable when the source cannot be read.
        """
        ...


class EmulatorMetrics:
    """Reads the local emulator's JSON metrics."""

    caveat: str | None = None

    def __init__(self, base_url: str, verify: str | bool) -> None:
        self._url = base_url.rstrip("/") + "/metrics.json"
        self._verify = tls_verify(verify)

    def snapshot(self, endpoint: str) -> dict[str, WindowStats]:
        try:
            with httpx.Client(
                verify=self._verify, timeout=10, event_hooks=recorder.httpx_hooks("metrics")
            ) as http:
                response = http.get(self._url)
            response.raise_for_status()
            return parse_emulator_metrics(response.json(), endpoint)
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            raise MetricsUnavailable(f"the emulator's metrics at {self._url} answered {status}") from exc
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise MetricsUnavailable(f"the emulator's metrics at {self._url}: {message}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise MetricsUnavailable(
                f"the emulator's metrics at {self._url} are unreadable: {exc!r}"
            ) from exc


def parse_emulator_metrics(document: dict, endpoint: str) -> dict[str, WindowStats]:
    """Per-deployment stats: everything a deployment answered, its mirrored copies included (as
    Azure Monitor counts them), so that a shadow stage judges the candidate on the copies."""
    stats: dict[str, WindowStats] = {}
    for row in document.get("deployments", []):
        if row["endpoint"] != endpoint:
            continue
        codes: dict[int, int] = {}
        for counts in (row.get("status_codes", {}), row.get("mirrored_status_codes", {})):
            for code, n in counts.items():
                codes[int(code)] = codes.get(int(code), 0) + int(n)
        buckets: dict[float, int] = {}
        for histogram in (row.get("latency_ms", {}), row.get("mirrored_latency_ms", {})):
            for le, count in histogram.get("buckets", []):
                bound = float("inf") if le == "+Inf" else float(le)
                buckets[bound] = buckets.get(bound, 0) + int(count)
        stats[row["deployment"]] = WindowStats.from_status_codes(codes, tuple(sorted(buckets.items())))
    return stats
