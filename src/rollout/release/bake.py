"""Baking a stage: watch candidate and live for the bake window, then judge.

During the window an optional probe load sends single-row requests from the samples to both
deployments by header (so a quiet endpoint still yields a verdict, and both are measured on the
same rows); at the end the probe rows go to both in one batch each to measure agreement as the
plan's output contract counts it (equal labels, numbers within tolerance, equal arg-max). The
window is cut short as soon as the candidate's errors already decide a failure.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rollout.azureml.metrics import MetricsSource, WindowStats
from rollout.azureml.scoring import ScoringClient
from rollout.project.output import OutputContract, agreeing_rows
from rollout.project.samples import SampleSet
from rollout.release.analysis import Agreement, Limits, Verdict, errors_decide_fail, judge

CHECK_EVERY_SECONDS = 1.0
LOCK_CHECK_EVERY_SECONDS = 3.0  # how often a bake checks that its release lock is still its own
INTERIM_ALPHA_SHARE = 0.1  # interim looks use a tenth of the alpha: repeated looks inflate false alarms
INTERIM_MIN_REQUESTS = 10


@dataclass
class BakeProgress:
    elapsed: float
    seconds: float
    candidate: WindowStats
    live: WindowStats
    probes_sent: int


class ProbeLoad:
    """Sends `rps` single-row requests per second, alternating candidate and live, until stopped.

    Requests go out on schedule from a small pool, so a slow deployment does not slow its own
    measurement; when every worker is busy the tick is skipped rather than queued.
    """

    MAX_IN_FLIGHT = 16

    def __init__(self, client: ScoringClient, samples: SampleSet, deployments: list[str], rps: float) -> None:
        self._client, self._rows, self._deployments = client, samples.single_rows(), deployments
        self._interval = 1.0 / rps if rps > 0 else 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe-load", daemon=True)
        self._slots = threading.Semaphore(self.MAX_IN_FLIGHT)
        self._pool = ThreadPoolExecutor(self.MAX_IN_FLIGHT, thread_name_prefix="probe")
        self.sent = 0

    def __enter__(self) -> ProbeLoad:
        if self._interval and self._rows and self._deployments:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)

    def _send(self, request: dict, deployment: str) -> None:
        try:
            with contextlib.suppress(Exception):  # a failed probe shows in the metrics
                self._client.score(request, deployment=deployment)
        finally:
            self._slots.release()

    def _run(self) -> None:
        next_at = time.monotonic()
        tick = 0
        while not self._stop.is_set():
            if self._slots.acquire(blocking=False):
                request = self._rows[tick % len(self._rows)]
                self._pool.submit(self._send, request, self._deployments[tick % len(self._deployments)])
                self.sent += 1
            tick += 1
            next_at += self._interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def measure_agreement(
    client: ScoringClient, samples: SampleSet, candidate: str, live: str, output: OutputContract
) -> Agreement | None:
    """Send the probe rows to both deployments; count the rows on which they agree (`output`)."""
    request = samples.probe_request()
    if request is None:
        return None
    rows = len(request["input_data"]["data"])
    from_candidate = client.score(request, deployment=candidate)
    from_live = client.score(request, deployment=live)
    if not (from_candidate.ok and from_live.ok):
        return Agreement(rows=rows, agreeing=0)
    return Agreement(rows=rows, agreeing=agreeing_rows(from_candidate.body, from_live.body, output))


def bake(
    *,
    endpoint: str,
    candidate: str,
    live: str | None,
    seconds: float,
    limits: Limits,
    metrics: MetricsSource,
    client: ScoringClient,
    samples: SampleSet,
    output: OutputContract,
    probe_rps: float = 0.0,
    on_progress: Callable[[BakeProgress], None] | None = None,
    still_allowed: Callable[[], None] | None = None,
) -> Verdict:
    """Run the bake window and return the verdict.

    `still_allowed` is called every few seconds and at the end of the window; it raises to stop
    the bake (the release lock was taken over), and the exception propagates.
    """
    start = metrics.snapshot(endpoint)
    began = time.monotonic()
    empty = WindowStats()

    def window() -> tuple[WindowStats, WindowStats]:
        now = metrics.snapshot(endpoint)
        c = now.get(candidate, empty).minus(start.get(candidate, empty))
        lv = now.get(live, empty).minus(start.get(live, empty)) if live else empty
        return c, lv

    targets = [candidate] + ([live] if live else [])
    interim_alpha = (1.0 - limits.confidence) * INTERIM_ALPHA_SHARE
    last_allowed = began
    with ProbeLoad(client, samples, targets, probe_rps) as load:
        while (elapsed := time.monotonic() - began) < seconds:
            time.sleep(min(CHECK_EVERY_SECONDS, seconds - elapsed))
            if still_allowed and time.monotonic() - last_allowed >= LOCK_CHECK_EVERY_SECONDS:
                still_allowed()
                last_allowed = time.monotonic()
            c, lv = window()
            if on_progress:
                on_progress(BakeProgress(time.monotonic() - began, seconds, c, lv, load.sent))
            if c.requests >= INTERIM_MIN_REQUESTS and errors_decide_fail(c, lv, limits, interim_alpha):
                break
    if still_allowed:
        still_allowed()
    agreement = measure_agreement(client, samples, candidate, live, output) if live else None
    c, lv = window()
    verdict = judge(c, lv, agreement, limits)
    if metrics.caveat:
        verdict.notes.append(metrics.caveat)
    return verdict
