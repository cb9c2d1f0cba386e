"""Judging the study's pairs with the product's own code: the output contract `rollout init` writes
from version 1's answers to the probe rows (`observed_contract`), agreement and drift as the bake
measures them (`agreeing_rows`, `worst_rows`, `drift`), and the verdict of the canary analysis
(`judge`, with the plan's default limits and a window that is clean but for the answers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.agreement_calibration.cases import Pair
from rollout.azureml.metrics_sources import WindowStats
from rollout.project.answer_drift import Drift, drift
from rollout.project.output_contract import DEFAULT_TOLERANCE, OutputContract, agreeing_rows, worst_rows
from rollout.project.scaffold_model import observed_contract
from rollout.project.specs import AnalysisLimits
from rollout.release.analysis import Agreement, judge

MAX_SCORE_CHANGE = 0.02  # legitimate: version 2's held-out score within 2% of version 1's
# a window with nothing against the candidate but its answers
CLEAN = WindowStats(ok=1000, latency_buckets=((50.0, 1000),))


@dataclass(frozen=True)
class Judged:
    pair: Pair
    contract: OutputContract  # what `rollout init` writes from version 1's answers
    agreement: float
    old_agreement: float | None  # numbers: under the former default, within 5% (no absolute part)
    drift: Drift
    outcome: str  # the verdict's outcome: pass or fail
    reasons: list[str]

    @property
    def counted(self) -> str:
        """legitimate, broken, or excluded (meant as one of them, but its score says otherwise)."""
        pair = self.pair
        within = score_within(pair.live_score, pair.candidate_score)
        if pair.intent == "legitimate":
            return "legitimate" if within else "excluded"
        if pair.intent == "broken if it costs score" and within:
            return "excluded"
        return "broken"

    @property
    def right(self) -> bool:
        """A legitimate pair passed, a broken one stopped (an excluded pair counts either way)."""
        return self.counted == "excluded" or (self.outcome == "pass") == (self.counted == "legitimate")


def score_within(live: float, candidate: float) -> bool:
    """Version 2's held-out score within 2% of version 1's (NaN: not within)."""
    return math.isfinite(candidate) and abs(candidate - live) <= MAX_SCORE_CHANGE * abs(live)


def judged(pair: Pair) -> Judged:
    """The verdict on one pair, as a release with `rollout init`'s defaults would reach it."""
    rows = len(pair.live)
    contract, _ = observed_contract(pair.live, rows, OutputContract(kind=pair.kind))
    limits = AnalysisLimits()
    found = drift(pair.candidate, pair.live, contract)
    agreement = Agreement(
        rows=rows,
        agreeing=agreeing_rows(pair.candidate, pair.live, contract),
        rule=contract.describe(),
        worst=worst_rows(pair.candidate, pair.live, contract),
        drift=found,
    )
    verdict = judge(CLEAN, CLEAN, agreement, limits)
    old = None
    if pair.kind == "numbers":
        former = OutputContract(kind="numbers", tolerance=DEFAULT_TOLERANCE)
        old = agreeing_rows(pair.candidate, pair.live, former) / rows
    return Judged(pair, contract, agreement.share, old, found, verdict.outcome, verdict.reasons)
