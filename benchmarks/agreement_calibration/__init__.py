"""The calibration study of the agreement gate's defaults: pairs of model versions, legitimate
retrains and broken candidates, judged by the product's own agreement code (cases, study, table).
Its table is docs/agreement-calibration.md; tests/unit/benchmarks keeps both honest."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "agreement-calibration.md"


def study_rows() -> list:  # list[Judged]; imported late: the study trains models
    from benchmarks.agreement_calibration.cases import all_pairs
    from benchmarks.agreement_calibration.study import judged

    return [judged(pair) for pair in all_pairs()]


def study_markdown(rows: list | None = None) -> str:
    from benchmarks.agreement_calibration.table import markdown

    return markdown(study_rows() if rows is None else rows)
