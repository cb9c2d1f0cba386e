"""`rollout init` for a classifier answering class probabilities (a pyfunc wrapper returning
`predict_proba` on the iris data), with a CSV probe file. Its output contract: vectors of three
probabilities; agreement: equal arg-max."""

from __future__ import annotations

from pathlib import Path

import pytest

from init_lab import KINDS, register_kind, release_journey
from labs import Lab

KIND = KINDS["iris-proba"]


@pytest.fixture(scope="module", autouse=True)
def registered(lab: Lab) -> None:
    register_kind(KIND, lab.registry_uri, lab.artifacts_dir)


def test_init_validate_and_a_candidate_answering_two_of_three_probabilities(lab: Lab, tmp_path: Path) -> None:
    release_journey(
        lab,
        KIND,
        tmp_path,
        probe=True,
        output={"kind": "probabilities", "classes": 3},
        breach="has 2 probabilities, not 3",
    )
