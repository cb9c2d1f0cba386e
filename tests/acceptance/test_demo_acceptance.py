"""The packaged acceptance suite (`rollout.acceptance`) against the demo project, as `make test`
runs it: a private emulator with blue serving heart-classifier version 1 and all traffic, green the
candidate with version 2 at 0%, and `rollout acceptance` run as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.azureml.connection import Connection
from rollout.azureml.local_target import LocalTarget
from rollout.project.loading import load_project
from rollout.release.steps import Release

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from rollout.azureml.endpoints import set_traffic
    from rollout.demo_model.training import train_and_register
    from rollout.emulator.host import process

    home = tmp_path_factory.mktemp("acceptance")
    registry_uri = f"sqlite:///{home / 'mlflow.db'}"
    for variant in (1, 2):
        train_and_register(
            "heart-classifier",
            variant=variant,
            seed=0,
            tracking_uri=registry_uri,
            artifacts_dir=home / "artifacts",
        )
    state_dir = home / "emulator"
    try:
        rel = Release(
            Connection(LocalTarget(state_dir, start=True, registry_uri=registry_uri)), load_project(REPO)
        )
        rel.deploy(version=1)
        set_traffic(rel.conn.ml, rel.endpoint_name, {"blue": 100})
        rel.retire()
        rel.deploy(version=2)
        yield home
    finally:
        process.stop(state_dir)


def test_the_packaged_suite_passes_against_the_demo_candidate(demo_home: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    report = tmp_path / "acceptance.xml"
    result = subprocess.run(
        [sys.executable, "-m", "rollout", "acceptance", "--path", str(REPO), f"--junitxml={report}", "-rs"],
        cwd=tmp_path,  # the suite reads the project given, not the working directory
        env={**env, "ROLLOUT_HOME": str(demo_home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    # every sample, every malformed case (the demo has an enumerated column: none is skipped)
    assert re.search(r"\b14 passed\b", summary), summary
    assert "skipped" not in summary, result.stdout[-2000:]
    assert 'name="test_candidate_agrees_with_live"' in report.read_text()
