"""Release tests' fixtures: a project with an endpoint of each test's own on the release lab
(tests/conftest.py), and that endpoint with version 1 live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labs import Lab
from release_lab import endpoint_for, make_project, serving_v1
from rollout.release.steps import Release


@pytest.fixture
def project(lab: Lab, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A project with an endpoint named after the test (names: 3-32 chars, letters, digits, dashes),
    deleted with its deployments after the test."""
    name = endpoint_for(request.node.originalname, request.node.nodeid)
    yield make_project(tmp_path / "project", name)
    lab.remove_endpoint(name)


@pytest.fixture
def live_on_v1(lab: Lab, project: Path) -> Release:
    """The project's endpoint with blue serving version 1 and all traffic, no release in progress."""
    return serving_v1(lab, project)
