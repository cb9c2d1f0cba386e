"""`rollout init` for a classifier answering class probabilities (a pyfunc wrapper returning
`predict_proba` on the iris data), with a CSV probe file. Its output contract: vectors of three
probabilities; agreement: equal arg-max."""

from __future__ import annotations

from pathlib import Path

import pytest
from init_lab import KINDS, InitLab, register_kind, release_journey

KIND = KINDS["iris-proba"]


@pytest.fixture(scope="module", autouse=True)
def registered(init_lab: InitLab) -> None:
    register_kind(KIND, init_lab.registry_uri, init_lab.home / "artifacts")


def test_init_validate_release_and_a_candidate_answering_two_of_three_probabilities(
    init_lab: InitLab, tmp_path: Path
) -> None:
    release_journey(
        init_lab,
        KIND,
        tmp_path,
        probe=True,
        output={"kind": "probabilities", "classes": 3},
        breach="has 2 probabilities, not 3",
    )
