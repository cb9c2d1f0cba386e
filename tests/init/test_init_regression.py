"""`rollout init` for a regression model (scikit-learn's diabetes data), with no probe file: the
probe set repeats the input example. Its output contract: numbers, agreement within a tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from init_lab import KINDS, register_kind, release_journey
from labs import Lab

KIND = KINDS["diabetes"]


@pytest.fixture(scope="module", autouse=True)
def registered(lab: Lab) -> None:
    register_kind(KIND, lab.registry_uri, lab.artifacts_dir)


def test_init_validate_release_and_a_candidate_answering_two_numbers_a_row(lab: Lab, tmp_path: Path) -> None:
    release_journey(
        lab,
        KIND,
        tmp_path,
        probe=False,
        output={"kind": "numbers", "tolerance": {"absolute": 0.0, "relative": 0.05}},
        breach="is not a finite number",
        release_v2=True,
    )
