"""Shared fixtures: state outside the checkout, project copies, the model cache and the release lab.

The release lab (a registry with the demo model's versions and faulty ones, and an emulator) is
started once per xdist worker, on first use, by whichever test directory needs it first.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labs import Lab
from model_cache import ModelCache
from release_lab import DEMO, FAULTY, MISSING, MODEL, VERSIONS

REPO = Path(__file__).resolve().parent.parent
PROJECT_DIRS = ("endpoints", "deployments", "samples")


@pytest.fixture(scope="session", autouse=True)
def _state_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Release steps run in-process write their history to the state directory: a temporary one
    rather than the checkout's `.rollout/`, unless the environment names one. Deployment
    environments go to one cache that every xdist worker and every emulator of the run shares
    (`$ROLLOUT_ENVIRONMENTS_DIR`, inherited by the processes the tests start), so that each model's
    environment is built once per run (uv's own package cache, in the user's cache directory, is
    shared across runs). Emulators warm no cached environment when they start."""
    with pytest.MonkeyPatch.context() as patch:
        if "ROLLOUT_HOME" not in os.environ:
            patch.setenv("ROLLOUT_HOME", str(tmp_path_factory.mktemp("rollout-home")))
        if "ROLLOUT_ENVIRONMENTS_DIR" not in os.environ:
            patch.setenv("ROLLOUT_ENVIRONMENTS_DIR", str(_run_dir(tmp_path_factory) / "environments"))
        # An emulator warms none of the run's environments when it starts (the tests that deploy
        # start their environment's ready process as they go); tests/emulator/instances says how.
        patch.setenv("ROLLOUT_EMULATOR_WARM_ENVIRONMENTS", "0")
        yield


@pytest.fixture
def rollout_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private `ROLLOUT_HOME` (and local MLflow registry) for one test."""
    home = tmp_path / "rollout-home"
    monkeypatch.setenv("ROLLOUT_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped specs and samples, to break one thing at a time."""
    root = tmp_path / "project"
    for directory in PROJECT_DIRS:
        shutil.copytree(REPO / directory, root / directory)
    return root


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder, shared by the xdist workers (their base folders' parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    """Model directories built once per run, shared by the xdist workers."""
    return ModelCache(_run_dir(tmp_path_factory) / "model-cache")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, model_cache: ModelCache) -> Iterator[Lab]:
    """The release lab: versions `VERSIONS` of the demo model in a private registry, an emulator."""
    from rollout.emulator.host import process

    lab = Lab(tmp_path_factory.mktemp("release-lab"))
    for name, version in VERSIONS.items():
        if name in MISSING:
            model_dir = model_cache.missing(MISSING[name])
        else:
            model_dir = model_cache.faulty(*FAULTY[name]) if name in FAULTY else model_cache.demo(*DEMO[name])
        assert model_cache.register(lab.registry_uri, lab.artifacts_dir, MODEL, model_dir) == version
    process.start(lab.state_dir, lab.registry_uri)
    lab.connection().ml.online_endpoints.list()  # starts the emulator and checks it answers
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROLLOUT_HOME", str(lab.home))  # steps run here keep their history where `rollout` does
        yield lab
    process.stop(lab.state_dir)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow journeys first: each xdist worker takes whole files in this order (`--dist loadfile`
    without reordering), so the long ones start at once and the short ones fill in around them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
