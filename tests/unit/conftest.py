"""Fixtures for the unit tests: a trained demo registry (project copies to break: tests/conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollout.demo_model.training import RegisteredModel, train_and_register

MODEL_NAME = "heart-classifier"


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
