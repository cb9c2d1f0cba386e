"""The rehearsal lab's copy of a project: renamed endpoint, and the lab's settings for busy cores."""

from __future__ import annotations

from pathlib import Path

import yaml

from rollout.project.loading import load_project
from rollout.release.rehearsal_lab import (
    LAB_MAX_CONCURRENT_REQUESTS,
    LAB_MAX_LATENCY_RATIO,
    LAB_MAX_P95_LATENCY_MS,
    lab_project,
)

REPO = Path(__file__).resolve().parents[3]


def test_the_copy_renames_the_endpoint_and_takes_the_lab_settings(tmp_path: Path) -> None:
    project = lab_project(REPO, tmp_path / "copy", "rh-scenario")
    loaded = load_project(project)
    assert loaded.endpoint.name == "rh-scenario"
    assert loaded.plan.analysis.max_p95_latency_ms == LAB_MAX_P95_LATENCY_MS
    assert loaded.plan.analysis.max_latency_ratio == LAB_MAX_LATENCY_RATIO
    for slot in ("blue", "green"):
        spec = yaml.safe_load((project / "deployments" / f"{slot}.yml").read_text())
        assert spec["endpoint_name"] == "rh-scenario"
        assert spec["request_settings"]["max_concurrent_requests_per_instance"] == LAB_MAX_CONCURRENT_REQUESTS
    # the shipped plan keeps its own limit, and the rest of the copy's plan is the shipped one
    shipped = load_project(REPO).plan
    assert (shipped.analysis.max_p95_latency_ms, shipped.analysis.max_latency_ratio) == (500, 1.5)
    assert loaded.plan.stages == shipped.stages and loaded.plan.model == shipped.model
    assert "rh-scenario" in (project / ".github/workflows/release.yml").read_text()
