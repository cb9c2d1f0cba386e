"""`rollout init` for a multi-class classifier answering labels (scikit-learn's iris data), with a
CSV probe file. Its output contract: the labels 0, 1, 2; agreement: equal labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from init_lab import KINDS, InitLab, register_kind, release_journey

KIND = KINDS["iris-labels"]


@pytest.fixture(scope="module", autouse=True)
def registered(init_lab: InitLab) -> None:
    register_kind(KIND, init_lab.registry_uri, init_lab.home / "artifacts")


def test_init_validate_release_and_a_candidate_answering_unknown_labels(
    init_lab: InitLab, tmp_path: Path
) -> None:
    release_journey(
        init_lab,
        KIND,
        tmp_path,
        probe=True,
        output={"kind": "labels", "labels": [0, 1, 2]},
        breach="is not one of the labels [0, 1, 2]",
    )
