"""`rollout init` for a regression model (scikit-learn's diabetes data), with no probe file: the
probe set repeats the input example. Its output contract: numbers, agreement within half a standard
deviation of the model's answers to the probe rows (docs/agreement-calibration.md), which the plan
says it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from init_lab import KINDS, answers_to_the_example, register_kind, release_journey
from labs import Lab

KIND = KINDS["diabetes"]


@pytest.fixture(scope="module", autouse=True)
def registered(lab: Lab) -> None:
    register_kind(KIND, lab.registry_uri, lab.artifacts_dir)


def test_init_validate_release_and_a_candidate_answering_two_numbers_a_row(lab: Lab, tmp_path: Path) -> None:
    import statistics

    answers = answers_to_the_example(KIND, version=2)  # the probe set repeats them
    spread = statistics.pstdev(answers)
    absolute = float(f"{0.5 * spread:.4g}")
    release_journey(
        lab,
        KIND,
        tmp_path,
        probe=False,
        output={"kind": "numbers", "tolerance": {"absolute": absolute, "relative": 0.0}},
        breach="is not a finite number",
        release_v2=True,
        plan_note=f"# Tolerance: absolute: 0.5 x {spread:.4g}, the standard deviation of the model's answers "
        "to the 50 probe rows",
        described=f"output: a number; agreement: within {absolute:.4g}\n",
    )
