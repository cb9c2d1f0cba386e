"""The agreement tolerance `rollout init` writes for a model answering numbers: a share of the spread
of the model's own answers to the probe rows.

Two legitimate versions of a regression model (a retrain with other hyperparameters, another
algorithm of similar quality, more data, another seed) differ by a fair share of a prediction's
typical size, and a fixed relative tolerance (5%) counts most of their rows as disagreements; their
differences are small next to the spread of the answers, which is what a model resolves at all.
`SPREAD_FACTOR` x the standard deviation of the answers, absolute, is the calibration study's choice
(benchmarks/agreement_calibration, docs/agreement-calibration.md): every legitimate pair of the
study agrees on at least 90% of its probe rows under it, and the distribution checks of
`rollout.project.answer_drift` stop what stays within it (an offset, a change of scale).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from rollout.project.output_contract import DEFAULT_TOLERANCE, Tolerance, scalar_value

SPREAD_FACTOR = 0.5  # the tolerance, in standard deviations of the model's answers


@dataclass(frozen=True)
class SpreadTolerance:
    """The tolerance and the numbers it came from."""

    tolerance: Tolerance
    spread: float  # the standard deviation of the answers (0: they were all equal)
    rows: int  # how many answers

    def note(self) -> str:
        """Where the tolerance came from, for a comment in the plan."""
        if not self.spread:
            return (
                f"the model answered the {self.rows} probe rows with one value: no spread to scale "
                f"a tolerance by, so {DEFAULT_TOLERANCE.relative:.0%} of the larger answer"
            )
        return (
            f"absolute: {SPREAD_FACTOR:g} x {self.spread:.4g}, the standard deviation of the model's "
            f"answers to the {self.rows} probe rows"
        )


def spread_tolerance(answers: list[Any]) -> SpreadTolerance:
    """The tolerance for a model that answered the probe rows with `answers` (finite numbers)."""
    values = [float(scalar_value(answer)) for answer in answers]
    spread = statistics.pstdev(values) if len(values) > 1 else 0.0
    if not spread or not math.isfinite(spread):
        return SpreadTolerance(DEFAULT_TOLERANCE, 0.0, len(values))
    absolute = float(f"{SPREAD_FACTOR * spread:.4g}")
    return SpreadTolerance(Tolerance(absolute=absolute, relative=0.0), spread, len(values))
