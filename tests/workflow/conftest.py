"""One rehearsal lab for the workflow rehearsals: a registry, an emulator; an endpoint per scenario.

The demo model's versions 1 and 2 are registered once (from the run's model cache). Each scenario
creates its own endpoint (`rh-<scenario>`) on the shared emulator and rehearses a copy of the
project whose endpoint and workflows are renamed accordingly, and whose plan has the rehearsal's
stages and analysis (tests/support/rehearsal_support.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_cache import ModelCache
from rollout.rehearsal.act import RehearsalError, find_act
from rollout.rehearsal.lab import Rehearsal, RunnerSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory, model_cache: ModelCache) -> Iterator[Rehearsal]:
    from rehearsal_support import PROBE_RPS

    try:
        find_act()
    except RehearsalError as error:
        pytest.fail(str(error))
    began = time.monotonic()
    prepared = Rehearsal.prepare(
        REPO,
        tmp_path_factory.mktemp("rehearsal"),
        RunnerSettings(bake=None, probe_rps=PROBE_RPS),
        model_dirs=[model_cache.demo(1), model_cache.demo(2)],
    )
    try:
        print(f"rehearsal lab prepared in {time.monotonic() - began:.0f}s")
        yield prepared
    finally:
        prepared.close()
