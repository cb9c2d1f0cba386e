"""Shared fixtures. (The acceptance suite's options are its own: `rollout.acceptance`.)"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT_DIRS = ("endpoints", "deployments", "samples")


@pytest.fixture(scope="session", autouse=True)
def _state_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Release steps run in-process write their history to the state directory: a temporary one
    rather than the checkout's `.rollout/`, unless the environment names one."""
    with pytest.MonkeyPatch.context() as patch:
        if "ROLLOUT_HOME" not in os.environ:
            patch.setenv("ROLLOUT_HOME", str(tmp_path_factory.mktemp("rollout-home")))
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
