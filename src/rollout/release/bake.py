"""Baking a stage: watch candidate and live for the bake window, then judge.

During the window an optional probe load sends single-row requests from the samples to both
deployments by header (so a quiet endpoint still yields a verdict, and both are measured on the
same rows); in a shadow stage (`mirrored`) it sends them to the endpoint without a header instead,
so that live answers them and the candidate gets its mirrored share of copies, as users' requests
(requests that name a deployment are never mirrored). At the end the probe rows go to both in one
batch each to measure agreement as the plan's output contract counts it (equal labels, numbers
within tolerance, equal arg-max). The window is cut short as soon as the candidate's errors
already decide a failure.

A metrics read that fails is tried again at the next look; `METRICS_ERROR_LIMIT` failures in a
row (as Argo Rollouts' consecutiveErrorLimit) end the bake with an `error` verdict.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ParamSpec

from rollout.azureml.metrics_sources import MetricsSource, MetricsUnavailable, WindowStats
from rollout.azureml.scoring import ScoringClient
from rollout.project.answer_drift import drift
from rollout.project.output_contract import OutputContract, agreeing_rows, worst_rows
from rollout.project.samples import SampleSet
from rollout.release.analysis import Agreement, Limits, Verdict, errors_decide_fail, judge

CHECK_EVERY_SECONDS = 1.0
LOCK_CHECK_EVERY_SECONDS = 3.0  # how often a bake checks that its release lock is still its own
INTERIM_ALPHA_SHARE = 0.1  # interim looks use a tenth of the alpha: repeated looks inflate false alarms
INTERIM_MIN_REQUESTS = 10
METRICS_ERROR_LIMIT = 4  # failed metrics reads in a row before the stage is judged an error

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment

P = ParamSpec("P")


@dataclass
class BakeProgress:
    elapsed: float
    seconds: float
    candidate: WindowStats
    live: WindowStats
    probes_sent: int


@dataclass(frozen=True)
class ProbeTarget:
    """Where probes go (a deployment by header; None: the endpoint, without a header) and how many
    may be in flight there at once."""

    deployment: str | None
    in_flight: int


def probe_in_flight(deployment: OnlineDeployment) -> int:
    """How many probes a deployment takes at once without queueing: its instances times its
    `max_concurrent_requests_per_instance` (Azure's default: 1). Azure answers 429 past twice that
    in waiting requests, so probes held to this leave the other half to users, and a stall on a
    busy machine shows as latency rather than as the deployment's errors."""
    settings = deployment.request_settings
    per_instance = (settings.max_concurrent_requests_per_instance if settings else None) or 1
    return max(1, int(per_instance) * int(deployment.instance_count or 1))


def probe_targets(
    candidate: str, live: str | None, mirrored: bool, in_flight: Mapping[str, int]
) -> list[ProbeTarget]:
    """The candidate and live by header, each with its `in_flight` (else 1); in a shadow stage, the
    endpoint, held to the smaller of the two (the candidate gets copies of what live answers)."""
    slots = {name: in_flight.get(name, 1) for name in (candidate, live) if name}
    if mirrored:
        return [ProbeTarget(None, min(slots.values()))]
    return [ProbeTarget(name, count) for name, count in slots.items()]


class ProbeLoad:
    """Sends `rps` single-row requests per second, alternating between `targets`, until stopped.

    Requests go out on schedule from a small pool, each target with its own slots, so a slow
    deployment neither slows its own measurement nor takes the other's slots; when a target's
    slots are all busy its tick is skipped rather than queued.
    """

    def __init__(
        self, client: ScoringClient, samples: SampleSet, targets: list[ProbeTarget], rps: float
    ) -> None:
        self._client, self._rows, self._targets = client, samples.single_rows(), targets
        self._interval = 1.0 / rps if rps > 0 else 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe-load", daemon=True)
        self._slots = [threading.Semaphore(target.in_flight) for target in targets]
        workers = max(1, sum(target.in_flight for target in targets))
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="probe")
        self.sent = 0

    def __enter__(self) -> ProbeLoad:
        if self._interval and self._rows and self._targets:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)

    def _send(self, request: dict, deployment: str | None, slots: threading.Semaphore) -> None:
        try:
            with contextlib.suppress(Exception):  # a failed probe shows in the metrics
                self._client.score(request, deployment=deployment)
        finally:
            slots.release()

    def _run(self) -> None:
        next_at = time.monotonic()
        tick = 0
        while not self._stop.is_set():
            which = tick % len(self._targets)
            if self._slots[which].acquire(blocking=False):
                request = self._rows[tick % len(self._rows)]
                self._pool.submit(self._send, request, self._targets[which].deployment, self._slots[which])
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
    replies = {name: client.score(request, deployment=name) for name in (candidate, live)}
    failed = [f"{name} answered {reply.status}" for name, reply in replies.items() if not reply.ok]
    if failed:  # only rows both answered count: a failure is the error rate's business
        return Agreement(rows=0, agreeing=0, unmeasured=f"{' and '.join(failed)} to the probe rows")
    answers, live_answers = replies[candidate].body, replies[live].body
    agreeing = agreeing_rows(answers, live_answers, output)
    worst = worst_rows(answers, live_answers, output)
    found = (
        drift(answers, live_answers, output)
        if isinstance(answers, list) and isinstance(live_answers, list)
        else None
    )
    return Agreement(rows=rows, agreeing=agreeing, rule=output.describe(), worst=worst, drift=found)


class _Reader:
    """Reads a metrics source, counting failed reads in a row; raises MetricsUnavailable at the limit."""

    def __init__(self, metrics: MetricsSource, endpoint: str) -> None:
        self._metrics, self._endpoint, self._failures = metrics, endpoint, 0

    def read(self) -> dict[str, WindowStats] | None:
        """A snapshot, or None when this read failed but the limit is not reached yet."""
        try:
            snapshot = self._metrics.snapshot(self._endpoint)
        except MetricsUnavailable:
            self._failures += 1
            if self._failures >= METRICS_ERROR_LIMIT:
                raise
            return None
        self._failures = 0
        return snapshot

    def read_until_limit(self) -> dict[str, WindowStats]:
        """A snapshot, trying again every second until the limit of failed reads."""
        while (snapshot := self.read()) is None:
            time.sleep(CHECK_EVERY_SECONDS)
        return snapshot


def _error_when_metrics_fail(run: Callable[P, Verdict]) -> Callable[P, Verdict]:
    """A bake whose metrics source failed ends in an `error` verdict, not an exception."""

    @functools.wraps(run)
    def judged(*args: P.args, **kwargs: P.kwargs) -> Verdict:
        try:
            return run(*args, **kwargs)
        except MetricsUnavailable as exc:
            return Verdict.error(f"metrics source failed: {exc} ({METRICS_ERROR_LIMIT} reads in a row)")

    return judged


@dataclass(frozen=True)
class BakeRequest:
    """What a bake watches and how it judges: the endpoint's `candidate` and `live` deployments for
    `seconds`, under `limits` and the output contract. `mirrored`: the candidate serves mirrored
    copies of live requests, so the probe load goes to the endpoint.

    `still_allowed` is called every few seconds and at the end of the window; it raises to stop
    the bake (the release lock was taken over), and the exception propagates.
    """

    endpoint: str
    candidate: str
    live: str | None
    seconds: float
    limits: Limits
    metrics: MetricsSource
    client: ScoringClient
    samples: SampleSet
    output: OutputContract
    probe_rps: float = 0.0
    mirrored: bool = False
    on_progress: Callable[[BakeProgress], None] | None = None
    still_allowed: Callable[[], None] | None = None
    in_flight: Mapping[str, int] = field(default_factory=dict)  # probes at once, by deployment (else 1)


@_error_when_metrics_fail
def bake(r: BakeRequest) -> Verdict:
    """Run the bake window and return the verdict (`error` when the metrics source failed)."""
    reader = _Reader(r.metrics, r.endpoint)
    start = reader.read_until_limit()
    began = time.monotonic()
    empty = WindowStats()

    def window(now: dict[str, WindowStats]) -> tuple[WindowStats, WindowStats]:
        c = now.get(r.candidate, empty).minus(start.get(r.candidate, empty))
        lv = now.get(r.live, empty).minus(start.get(r.live, empty)) if r.live else empty
        return c, lv

    interim_alpha = (1.0 - r.limits.confidence) * INTERIM_ALPHA_SHARE
    last_allowed = began
    with ProbeLoad(
        r.client, r.samples, probe_targets(r.candidate, r.live, r.mirrored, r.in_flight), r.probe_rps
    ) as load:
        while (elapsed := time.monotonic() - began) < r.seconds:
            time.sleep(min(CHECK_EVERY_SECONDS, r.seconds - elapsed))
            if r.still_allowed and time.monotonic() - last_allowed >= LOCK_CHECK_EVERY_SECONDS:
                r.still_allowed()
                last_allowed = time.monotonic()
            now = reader.read()
            if now is None:
                continue  # tried again at the next look
            c, lv = window(now)
            if r.on_progress:
                r.on_progress(BakeProgress(time.monotonic() - began, r.seconds, c, lv, load.sent))
            if c.requests >= INTERIM_MIN_REQUESTS and errors_decide_fail(c, lv, r.limits, interim_alpha):
                break
    if r.still_allowed:
        r.still_allowed()
    agreement = measure_agreement(r.client, r.samples, r.candidate, r.live, r.output) if r.live else None
    c, lv = window(reader.read_until_limit())
    verdict = judge(c, lv, agreement, r.limits)
    if r.metrics.caveat:
        verdict.notes.append(r.metrics.caveat)
    return verdict
