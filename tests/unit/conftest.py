"""Fixtures for the foundation's unit tests: project copies to break, and a trained demo registry."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollout.demo_model.training import RegisteredModel, train_and_register

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIRS = ("endpoints", "deployments", "samples")
MODEL_NAME = "heart-classifier"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped specs and samples, to break one thing at a time."""
    root = tmp_path / "project"
    for directory in PROJECT_DIRS:
        shutil.copytree(REPO / directory, root / directory)
    return root


@dataclass(frozen=True)
class DemoRegistry:
    uri: str
    artifacts_dir: Path
    models: dict[int, RegisteredModel]  # by variant
    training_cwd: Path  # the working directory during training: nothing may appear in it


@pytest.fixture(scope="session")
def demo_registry(tmp_path_factory: pytest.TempPathFactory) -> DemoRegistry:
    """A private local registry holding both demo variants: versions 1 and 2 (as `make demo` leaves)."""
    home = tmp_path_factory.mktemp("demo-registry")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    artifacts = home / "artifacts"
    cwd = home / "cwd"
    cwd.mkdir()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        models = {
            variant: train_and_register(
                MODEL_NAME, variant=variant, seed=0, tracking_uri=uri, artifacts_dir=artifacts
            )
            for variant in (1, 2)
        }
    finally:
        os.chdir(previous)
    return DemoRegistry(uri, artifacts, models, cwd)
