"""Shared fixtures and the acceptance suite's options.

The acceptance options live here, at the tests root, so pytest knows them however it is started
(`pytest`, `pytest tests/acceptance`, or `rollout release`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rollout.azureml.targets import TARGET_NAMES

REPO = Path(__file__).resolve().parent.parent
PROJECT_DIRS = ("endpoints", "deployments", "samples")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("acceptance", "acceptance suite (tests/acceptance)")
    group.addoption(
        "--target",
        default=os.environ.get("ROLLOUT_TARGET") or "local",
        choices=TARGET_NAMES,
        help="Where the endpoint is (default: $ROLLOUT_TARGET, else local).",
    )
    group.addoption(
        "--endpoint",
        default=None,
        help="Endpoint to test; without it the suite provisions its own local release on a private emulator.",
    )
    group.addoption(
        "--deployment", default=None, help="Candidate deployment (default: the endpoint's candidate)."
    )
    group.addoption("--live", default=None, help="Live deployment (default: the endpoint's live one).")


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
