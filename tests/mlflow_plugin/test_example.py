"""`examples/mlflow_safe_rollout.py` runs as a user runs it: `python examples/mlflow_safe_rollout.py`
in a fresh directory, the emulator starting on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mlflow_safe_rollout.py"


@pytest.mark.timeout(900)
def test_the_example_runs_as_is(rollout_local):
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    finished = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=rollout_local,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    out = finished.stdout
    assert "registered heart-classifier version 1" in out
    assert "deployment default: Succeeded" in out
    assert "'xgboost-model-2': 100" in out.split("traffic: ")[1]
    assert "deployments left: ['xgboost-model-2']" in out
    assert "deleted endpoint heart-classifier-" in out
    assert sorted(path.name for path in rollout_local.glob("*.json")) == [
        "deployment_config.json",
        "endpoint_config.json",
        "traffic_config.json",
    ]
