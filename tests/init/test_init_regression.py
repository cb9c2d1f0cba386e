"""`rollout init` for a regression model (scikit-learn's diabetes data), with no probe file: the
probe set repeats the input example. Its output contract: numbers, agreement within a tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest
from init_lab import KINDS, InitLab, register_kind, release_journey

KIND = KINDS["diabetes"]


@pytest.fixture(scope="module", autouse=True)
def registered(init_lab: InitLab) -> None:
    register_kind(KIND, init_lab.registry_uri, init_lab.home / "artifacts")


def test_init_validate_release_and_a_candidate_answering_two_numbers_a_row(
    init_lab: InitLab, tmp_path: Path
) -> None:
    release_journey(
        init_lab,
        KIND,
        tmp_path,
        probe=False,
        output={"kind": "numbers", "tolerance": {"absolute": 0.0, "relative": 0.05}},
        breach="is not a finite number",
    )
