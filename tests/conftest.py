"""Shared fixtures: every test runs with its own local state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rollout_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private `ROLLOUT_HOME` (and local MLflow registry) for one test."""
    home = tmp_path / "rollout-home"
    monkeypatch.setenv("ROLLOUT_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home
