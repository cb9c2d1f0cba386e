"""Canary analysis: the candidate against the live deployment over one bake window.

Pure functions over request counts, latency histograms and probe predictions; where the numbers
come from is `rollout.azureml.metrics_sources`' business (which also counts the deployment's faults).

- Error rate: requests the deployment failed: 5xx, and the 4xx that are the deployment's doing on
  Azure ML (408 timeout, 424 model error, 429 overloaded, in `DEPLOYMENT_FAULTS`); other 4xx are
  the caller's. The candidate fails when its error rate is both significantly higher than live's
  (one-sided Fisher exact test at the plan's confidence) and higher by more than `max_error_rate`.
- Latency: p95 estimated from the histogram. Fails over `max_p95_latency_ms`, or over
  `max_latency_ratio` x live's p95 when the gap is also more than `LATENCY_NOISE_MS` (a ratio of
  two tiny latencies says nothing).
- Agreement: the share of probe rows on which both deployments agree, as the plan's output
  contract counts it (`rollout.project.output_contract`: equal labels, numbers within tolerance,
  equal arg-max).
  Only rows both deployments answered count: when one of them failed the probe rows, agreement is
  unmeasured (a note), never a disagreement. The candidate's answers as a whole must also not
  drift from live's (`rollout.project.answer_drift`: no answer outside the output contract;
  numbers: the mean and the spread), each check a reason of its own.
- Fewer candidate requests than `min_requests`: inconclusive, unless the errors already decide.

Outcomes follow Argo Rollouts' analysis: pass, fail (the candidate is worse), inconclusive (not
enough to decide), and error: the numbers could not be had (the metrics source failed), which says
nothing about the candidate but lets no stage stand on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

from rollout.azureml.metrics_sources import WindowStats
from rollout.project.answer_drift import Drift
from rollout.project.output_contract import Disagreement

LATENCY_NOISE_MS = 50.0
Outcome = Literal["pass", "fail", "inconclusive", "error"]


class Limits(Protocol):
    """The analysis section of the release plan."""

    min_requests: int
    max_error_rate: float
    confidence: float
    max_p95_latency_ms: float
    max_latency_ratio: float
    min_agreement: float
    max_mean_shift: float
    max_spread_ratio: float


@dataclass(frozen=True)
class Agreement:
    """Probe rows both deployments answered, and on how many of them they agree; `unmeasured` says
    why there are none (a deployment failed the probe rows)."""

    rows: int
    agreeing: int
    unmeasured: str | None = None
    rule: str = ""  # how agreement is counted (the output contract, in one line)
    worst: list[Disagreement] = field(default_factory=list)  # the rows they disagree on most
    drift: Drift | None = None  # the candidate's answers against live's as a whole

    @property
    def share(self) -> float:
        return self.agreeing / self.rows if self.rows else 0.0


@dataclass
class Verdict:
    outcome: Outcome
    reasons: list[str] = field(default_factory=list)
    numbers: dict[str, float | int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # about the numbers (e.g. their source's delay)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def error(cls, reason: str) -> Verdict:
        """The verdict when the numbers could not be had."""
        return cls("error", [reason])


def error_p_value(candidate: WindowStats, live: WindowStats) -> float:
    """One-sided p-value that the candidate's error rate is higher than live's."""
    table = [
        [candidate.errors, candidate.requests - candidate.errors],
        [live.errors, live.requests - live.errors],
    ]
    if candidate.requests == 0:
        return 1.0
    if live.requests == 0:  # nothing to compare with: against a perfect baseline of equal size
        table[1] = [0, candidate.requests]
    # imported here: scipy.stats takes seconds to import, and most commands never judge a window
    from scipy.stats import fisher_exact

    return float(fisher_exact(table, alternative="greater").pvalue)


def errors_decide_fail(candidate: WindowStats, live: WindowStats, limits: Limits, alpha: float) -> bool:
    """True when the candidate's errors are significantly and materially worse than live's."""
    excess = candidate.error_rate - live.error_rate
    return excess > limits.max_error_rate and error_p_value(candidate, live) < alpha


def judge(candidate: WindowStats, live: WindowStats, agreement: Agreement | None, limits: Limits) -> Verdict:
    """The verdict on one bake window, with the numbers it rests on."""
    alpha = 1.0 - limits.confidence
    numbers: dict[str, float | int | None] = {
        "candidate_requests": candidate.requests,
        "candidate_errors": candidate.errors,
        "candidate_error_rate": round(candidate.error_rate, 4),
        "live_requests": live.requests,
        "live_errors": live.errors,
        "live_error_rate": round(live.error_rate, 4),
        "error_p_value": round(error_p_value(candidate, live), 4),
        "candidate_p95_ms": _round(candidate.p95_ms),
        "live_p95_ms": _round(live.p95_ms),
        "agreement": round(agreement.share, 4) if agreement and agreement.rows else None,
        "agreement_rows": agreement.rows if agreement else 0,
    }
    failures: list[str] = []
    if errors_decide_fail(candidate, live, limits, alpha):
        failures.append(
            f"error rate {candidate.error_rate:.2%} vs live {live.error_rate:.2%}: more than "
            f"{limits.max_error_rate:.2%} higher (p={numbers['error_p_value']} < {alpha:.2f})"
        )
    notes = [f"agreement not measured: {agreement.unmeasured}"] if agreement and agreement.unmeasured else []
    if agreement is not None and agreement.rows and agreement.share < limits.min_agreement:
        rule = f" ({agreement.rule})" if agreement.rule else ""
        failures.append(
            f"agreement with live {agreement.share:.2%} over {agreement.rows} probe rows is below "
            f"{limits.min_agreement:.2%}{rule}"
        )
        if agreement.worst:
            failures.append("rows that disagree most: " + "; ".join(d.describe() for d in agreement.worst))
    if agreement is not None and agreement.rows and agreement.drift is not None:
        numbers.update(agreement.drift.numbers())
        failures.extend(
            agreement.drift.problems(agreement.rows, limits.max_mean_shift, limits.max_spread_ratio)
        )
    enough = candidate.requests >= limits.min_requests
    if enough:
        failures.extend(_latency_failures(candidate.p95_ms, live.p95_ms, limits))
    if failures:
        return Verdict("fail", failures, numbers, notes)
    if not enough:
        return Verdict(
            "inconclusive",
            [f"only {candidate.requests} candidate requests; at least {limits.min_requests} are needed"],
            numbers,
            notes,
        )
    if agreement is not None and agreement.unmeasured:
        return Verdict(
            "inconclusive", [f"agreement with live could not be measured: {agreement.unmeasured}"], numbers
        )
    return Verdict(
        "pass",
        [
            f"error rate {candidate.error_rate:.2%} vs live {live.error_rate:.2%} over "
            f"{candidate.requests} requests",
            f"p95 {_fmt_ms(candidate.p95_ms)} vs live {_fmt_ms(live.p95_ms)}",
        ]
        + ([f"agreement {agreement.share:.2%} over {agreement.rows} probe rows"] if agreement else []),
        numbers,
    )


def _latency_failures(candidate_p95: float | None, live_p95: float | None, limits: Limits) -> list[str]:
    if candidate_p95 is None:
        return []
    if candidate_p95 > limits.max_p95_latency_ms:
        return [f"p95 latency {_fmt_ms(candidate_p95)} is over the limit of {limits.max_p95_latency_ms:g} ms"]
    if (
        live_p95
        and candidate_p95 > limits.max_latency_ratio * live_p95
        and candidate_p95 - live_p95 > LATENCY_NOISE_MS
    ):
        return [
            f"p95 latency {_fmt_ms(candidate_p95)} is {candidate_p95 / live_p95:.1f}x live's "
            f"{_fmt_ms(live_p95)} (limit {limits.max_latency_ratio:g}x)"
        ]
    return []


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"
