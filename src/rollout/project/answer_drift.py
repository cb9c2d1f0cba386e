"""How the candidate's answers to the probe rows differ from live's as a whole, beyond row-by-row
agreement: the checks a broken candidate cannot slip past by staying within the tolerance.

- Contract breaches: a candidate answer that breaks the output contract (a NaN, a label the model
  never answered with, a vector that is no probability vector) stops the candidate, however few:
  a model that was fine answers none (agreement counts such a row as a disagreement only, so 10%
  of rows answered with NaN would pass a 90% agreement when every other row agrees).
- Numbers: the shift of the candidate's mean from live's in units of live's spread (the standard
  deviation of live's answers to the probe rows): an offset that stays within the tolerance on
  most rows moves the whole distribution. Fails over `MAX_MEAN_SHIFT`.
- Numbers: the ratio of the two spreads; a constant answer (ratio 0) or a change of scale. Fails
  outside 1/`MAX_SPREAD_RATIO`..`MAX_SPREAD_RATIO`.

Both limits are the plan's (`analysis.max_mean_shift`, `analysis.max_spread_ratio`); the constants
are their defaults.

Labels and probabilities need no more than agreement: the change in the class mix between two
answer sets is at most the share of rows they disagree on. The thresholds come from the
calibration study in benchmarks/agreement_calibration (docs/agreement-calibration.md).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from rollout.project.output_contract import OutputContract, prediction_problem, scalar_value

MAX_MEAN_SHIFT = 0.25  # |candidate mean - live mean| / live's standard deviation (the plan's default)
MAX_SPREAD_RATIO = 1.5  # candidate's standard deviation / live's, and its inverse (the plan's default)
# What the calibration study measured, which `rollout init` writes next to the limits: the largest
# mean shift and the range of spread ratios of its legitimate retrains of a number model
# (tests/unit/benchmarks checks them against the study).
STUDY_LEGITIMATE_MEAN_SHIFT = 0.03
STUDY_LEGITIMATE_SPREAD_RATIOS = (0.97, 1.06)


@dataclass(frozen=True)
class Drift:
    """The candidate's answers against live's over the probe rows, as a whole."""

    breaches: int = 0  # candidate answers that break the output contract
    first_breach: str = ""  # the first of them: "row 3: nan is not a finite number"
    mean_shift: float | None = None  # numbers: in units of live's standard deviation
    spread_ratio: float | None = None  # numbers: candidate's standard deviation / live's

    def problems(
        self, rows: int, max_mean_shift: float = MAX_MEAN_SHIFT, max_spread_ratio: float = MAX_SPREAD_RATIO
    ) -> list[str]:
        """One line per check the candidate fails (empty when it passes them all), under the plan's
        limits."""
        found = []
        if self.breaches:
            found.append(
                f"candidate answered {self.breaches} of {rows} probe rows outside the output contract "
                f"({self.first_breach})"
            )
        if self.mean_shift is not None and self.mean_shift > max_mean_shift:
            found.append(
                f"candidate's mean answer moved {self.mean_shift:.2f} standard deviations of live's "
                f"answers (limit {max_mean_shift:g})"
            )
        ratio = self.spread_ratio
        if ratio is not None and not (1 / max_spread_ratio <= ratio <= max_spread_ratio):
            found.append(
                f"candidate's answers spread {ratio:.2f}x as wide as live's "
                f"(limit {1 / max_spread_ratio:.2f}x..{max_spread_ratio:g}x)"
            )
        return found

    def numbers(self) -> dict[str, float | int | None]:
        """The drift's numbers for a verdict."""
        return {
            "contract_breaches": self.breaches,
            "mean_shift": None if self.mean_shift is None else round(self.mean_shift, 4),
            "spread_ratio": None if self.spread_ratio is None else round(self.spread_ratio, 4),
        }


def drift(candidate: list[Any], live: list[Any], contract: OutputContract) -> Drift:
    """The drift of the candidate's answers from live's (two replies of one prediction a row)."""
    breaches = [
        f"row {index}: {problem}"
        for index, answer in enumerate(candidate)
        if (problem := prediction_problem(answer, contract)) is not None
    ]
    found = Drift(len(breaches), breaches[0] if breaches else "")
    if contract.kind != "numbers":
        return found
    pairs = [
        (float(scalar_value(a)), float(scalar_value(b)))
        for a, b in zip(candidate, live, strict=False)
        if prediction_problem(a, contract) is None and prediction_problem(b, contract) is None
    ]
    if len(pairs) < 2:
        return found
    ours, theirs = [a for a, _ in pairs], [b for _, b in pairs]
    spread, own_spread = statistics.pstdev(theirs), statistics.pstdev(ours)
    if spread == 0 or not math.isfinite(spread):
        return found  # live answers one value: nothing to measure against
    shift = abs(statistics.fmean(ours) - statistics.fmean(theirs)) / spread
    return Drift(found.breaches, found.first_breach, shift, own_spread / spread)
