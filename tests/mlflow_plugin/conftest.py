"""Fixtures for the MLflow plugin: a private ROLLOUT_HOME with `MLFLOW_TRACKING_URI=rollout://local`
per test, its emulator (started on demand by the plugin) stopped at the end, and the two versions
of the demo model saved as local MLflow model directories.

MLflow finds the plugin through the package's entry points, so the package must be installed
(`make install`, or `pip install -e .`) from a checkout that declares them.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from model_cache import ModelCache

ENTRY_POINT_GROUPS = ("mlflow.tracking_store", "mlflow.model_registry_store", "mlflow.deployments")


@dataclass(frozen=True)
class SavedModels:
    first: Path
    second: Path


@pytest.fixture(scope="session", autouse=True)
def plugin_installed() -> None:
    missing = [
        group
        for group in ENTRY_POINT_GROUPS
        if "rollout" not in {entry.name for entry in importlib.metadata.entry_points(group=group)}
    ]
    if missing:
        pytest.fail(
            f"the rollout MLflow plugin is not installed (no 'rollout' entry point in {', '.join(missing)}); "
            "reinstall the package: pip install -e ."
        )


@pytest.fixture
def rollout_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory and private ROLLOUT_HOME, with MLFLOW_TRACKING_URI=rollout://local; the
    emulator the plugin starts there is stopped afterwards. Yields the working directory."""
    from rollout.emulator.host import process

    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "rollout-home"
    monkeypatch.chdir(work)
    monkeypatch.setenv("ROLLOUT_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "rollout://local")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        yield work
    finally:
        process.stop(home / "emulator")


@pytest.fixture(scope="session")
def saved_models(model_cache: ModelCache) -> SavedModels:
    """The demo heart classifier's two variants, saved as local MLflow model directories."""
    return SavedModels(model_cache.demo(1), model_cache.demo(2))
