"""The agreement numbers a stage recorded, next to the plan's limits in the report: the tolerance
rows agree within, the answers breaking the contract, and a number model's mean shift and spread."""

from __future__ import annotations

from rollout.project.specs import AnalysisLimits
from rollout.release.history import Entry
from rollout.report.contents import thresholds

LIMITS = AnalysisLimits().model_dump() | {"tolerance_absolute": 12.5, "tolerance_relative": 0.0}


def stage(**numbers: float | int | None) -> Entry:
    base = {"candidate_requests": 200, "agreement": 0.925, "agreement_rows": 80}
    return Entry("m:2@green", "ep", "stage", "canary", "fail", "2026-11-30T15:00:00+00:00", "green", "blue",
                 "10", limits=LIMITS, numbers=base | numbers)  # fmt: skip


def test_a_number_model_s_drift_is_shown_against_the_plan_s_limits() -> None:
    rows = {t.measure: t for t in thresholds(stage(contract_breaches=0, mean_shift=0.5, spread_ratio=0.0))}
    agreement = rows["agreement with live"]
    assert (agreement.limit, agreement.measured, agreement.ok) == (
        ">= 90% of rows within 12.5",
        "92.50% of 80 probe rows",
        True,
    )
    shift = rows["mean shift (sd of live's answers)"]
    assert (shift.limit, shift.measured, shift.ok) == ("<= 0.25", "0.50", False)
    spread = rows["spread ratio (candidate / live)"]
    assert (spread.limit, spread.measured, spread.ok) == ("0.67x..1.5x", "0.00x", False)  # a constant answer
    assert rows["answers breaking the output contract"].ok is True


def test_labels_show_breaches_only_and_a_relative_tolerance_says_so() -> None:
    limits = {k: v for k, v in LIMITS.items() if not k.startswith("tolerance")}
    entry = stage(contract_breaches=3)
    rows = {t.measure: t for t in thresholds(Entry(**{**entry.__dict__, "limits": limits}))}
    assert rows["agreement with live"].limit == ">= 90%"
    assert (
        rows["answers breaking the output contract"].measured,
        rows["answers breaking the output contract"].ok,
    ) == (
        "3",
        False,
    )
    assert "mean shift (sd of live's answers)" not in rows
    relative = LIMITS | {"tolerance_absolute": 0.0, "tolerance_relative": 0.05}
    rows = {t.measure: t for t in thresholds(Entry(**{**entry.__dict__, "limits": relative}))}
    assert rows["agreement with live"].limit == ">= 90% of rows within 5.00%"
