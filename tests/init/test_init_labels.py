"""`rollout init` for a multi-class classifier answering labels (scikit-learn's iris data), with a
CSV probe file. Its output contract: the labels 0, 1, 2; agreement: equal labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from init_lab import KINDS, register_kind, release_journey
from labs import Lab

KIND = KINDS["iris-labels"]


@pytest.fixture(scope="module", autouse=True)
def registered(lab: Lab) -> None:
    register_kind(KIND, lab.registry_uri, lab.artifacts_dir)


def test_init_validate_and_a_candidate_answering_unknown_labels(lab: Lab, tmp_path: Path) -> None:
    release_journey(
        lab,
        KIND,
        tmp_path,
        probe=True,
        output={"kind": "labels", "labels": [0, 1, 2]},
        breach="is not one of the labels [0, 1, 2]",
    )
