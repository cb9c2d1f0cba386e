"""The calibration study of the agreement gate (benchmarks/agreement_calibration), kept as a test:
the defaults `rollout init` writes pass every legitimate retrain and stop every broken candidate,
on the data sets the rule was chosen on and on generators it was not; the table in the docs is the
study's own output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # the benchmarks package lives at the repository's root

from benchmarks.agreement_calibration import DOC, study_markdown, study_rows  # noqa: E402
from benchmarks.agreement_calibration.cases import KINDS  # noqa: E402
from benchmarks.agreement_calibration.study import Judged, score_within  # noqa: E402

# the study's one known miss: a forest on the digits given inputs in other units (pixel values
# doubled) loses 5 points of accuracy yet agrees with live on 94% of the probe rows, over 90%
KNOWN_MISSES = {(kind, "digits", "inputs in other units (x2)") for kind in ("labels", "probabilities")}


@pytest.fixture(scope="module")
def rows() -> list[Judged]:
    return study_rows()


def _key(row: Judged) -> tuple[str, str, str]:
    return (row.pair.kind, row.pair.data, row.pair.change)


def test_every_legitimate_retrain_passes(rows: list[Judged]) -> None:
    legitimate = [row for row in rows if row.counted == "legitimate"]
    assert all(score_within(row.pair.live_score, row.pair.candidate_score) for row in legitimate)
    stopped = [(_key(row), row.reasons) for row in legitimate if row.outcome != "pass"]
    assert stopped == []
    for kind in KINDS:  # the study holds enough of them, on tuned and untuned data sets
        for tuned in (True, False):
            group = [row for row in legitimate if row.pair.kind == kind and row.pair.tuned == tuned]
            assert len(group) >= 6, (kind, tuned)


def test_every_broken_candidate_is_stopped_but_the_known_miss(rows: list[Judged]) -> None:
    broken = [row for row in rows if row.counted == "broken"]
    passed = {_key(row) for row in broken if row.outcome == "pass"}
    assert passed == KNOWN_MISSES
    for row in broken:  # each stopped one with a reason
        assert row.outcome == "pass" or row.reasons, _key(row)
    for kind in KINDS:
        for tuned in (True, False):
            assert sum(row.pair.kind == kind and row.pair.tuned == tuned for row in broken) >= 10


def test_the_rules_that_stop_what_agreement_alone_would_pass(rows: list[Judged]) -> None:
    by_key = {_key(row): row for row in rows}
    offset = by_key[("numbers", "friedman3", "offset of half a standard deviation")]
    assert offset.agreement == 1.0  # within the tolerance on every row, yet stopped by its mean
    assert any("mean answer moved 0.50 standard deviations" in reason for reason in offset.reasons)
    nan = by_key[("numbers", "friedman2", "10% of rows answered with NaN")]
    assert nan.agreement >= 0.9  # 90% of the rows agree, but the NaN answers break the contract
    assert any("outside the output contract" in reason for reason in nan.reasons)


def test_the_issue_s_retrain_passes_where_five_percent_stopped_it(rows: list[Judged]) -> None:
    """The diabetes forests: under `within 5%` most rows disagreed; the written tolerance is a
    share of the spread of live's answers, and every diabetes retrain agrees on 90% or more."""
    diabetes = [row for row in rows if row.pair.data == "diabetes" and row.pair.intent == "legitimate"]
    tolerances = [row.contract.tolerance for row in diabetes]
    assert tolerances and all(tolerance and tolerance.relative == 0 for tolerance in tolerances)
    assert all(row.agreement >= 0.9 for row in diabetes if row.counted == "legitimate")


def test_the_table_in_the_docs_is_the_study_s_output(rows: list[Judged]) -> None:
    assert DOC.read_text(encoding="utf-8") == study_markdown(rows), (
        "docs/agreement-calibration.md is out of date: python -m benchmarks.agreement_calibration"
    )


def test_the_numbers_init_writes_next_to_the_drift_limits_are_the_study_s(rows: list[Judged]) -> None:
    from rollout.project.answer_drift import STUDY_LEGITIMATE_MEAN_SHIFT, STUDY_LEGITIMATE_SPREAD_RATIOS

    legitimate = [row.drift for row in rows if row.pair.kind == "numbers" and row.counted == "legitimate"]
    shifts = [d.mean_shift for d in legitimate if d.mean_shift is not None]
    ratios = [d.spread_ratio for d in legitimate if d.spread_ratio is not None]
    assert round(max(shifts), 2) == STUDY_LEGITIMATE_MEAN_SHIFT
    assert (round(min(ratios), 2), round(max(ratios), 2)) == STUDY_LEGITIMATE_SPREAD_RATIOS
