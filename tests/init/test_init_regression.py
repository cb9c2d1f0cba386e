"""`rollout init` for a regression model (a random forest on scikit-learn's diabetes data) with a
probe file, as the calibration study's "more and deeper trees" retrain: its output contract is
numbers, agreement within half a standard deviation of the model's answers to the probe rows
(docs/agreement-calibration.md), which the plan says it came from, next to the drift limits and the
study's numbers. With those defaults the retrain releases, and a broken version answering one
constant for every row is stopped, the rows that disagree most shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from init_lab import KINDS, PROBE_ROWS, answers_to_the_probe, register_kind, release_journey
from labs import Lab

KIND = KINDS["diabetes"]


@pytest.fixture(scope="module", autouse=True)
def registered(lab: Lab) -> None:
    register_kind(KIND, lab.registry_uri, lab.artifacts_dir)


def test_init_validate_release_a_retrain_and_stop_broken_candidates(lab: Lab, tmp_path: Path) -> None:
    import statistics

    answers = answers_to_the_probe(KIND, version=2)
    spread = statistics.pstdev(answers)
    absolute = float(f"{0.5 * spread:.4g}")
    release_journey(
        lab,
        KIND,
        tmp_path,
        probe=True,
        output={"kind": "numbers", "tolerance": {"absolute": absolute, "relative": 0.0}},
        breach="is not a finite number",
        release_v2=True,
        plan_note=f"# Tolerance: absolute: 0.5 x {spread:.4g}, the standard deviation of the model's answers "
        f"to the {PROBE_ROWS} probe rows",
        described=f"output: a number; agreement: within {absolute:.4g}\n",
        broken_says="rows that disagree most: row ",
    )
