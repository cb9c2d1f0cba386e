"""The packaged acceptance suite (`rollout.acceptance`) against the demo project, as `make test`
runs it: `rollout acceptance` run as a user runs it, on the release lab (tests/conftest.py).

On a new endpoint (a first release) there is nothing live to compare with: the agreement case is
skipped as not applicable, never passed. (With a live deployment every case runs and passes: the
release in tests/release/test_release_cli.py runs the suite that way.)"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from labs import Lab
from release_lab import VERSIONS, endpoint_for, make_project
from rollout.project.loading import load_project
from rollout.release.steps import Release


def accept(lab: Lab, project: Path, tmp_path: Path) -> tuple[str, ET.Element]:
    """`rollout acceptance` from another directory (the suite reads the project it is given)."""
    report = tmp_path / "acceptance.xml"
    result = lab.rollout("acceptance", "--path", str(project), f"--junitxml={report}", "-rs", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Marshmallow4Warning" not in result.stdout  # azure-ai-ml's deprecations are not the candidate's
    root = ET.parse(report).getroot()
    suite = root.find("testsuite") if root.tag == "testsuites" else root
    assert suite is not None
    return result.stdout.strip().splitlines()[-1], suite


@pytest.fixture
def endpoint(lab: Lab, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test's endpoint, deleted with its deployments afterwards."""
    name = endpoint_for(request.node.originalname, request.node.nodeid)
    yield name
    lab.remove_endpoint(name)


def test_a_first_release_reports_the_comparison_with_live_as_not_applicable(
    lab: Lab, endpoint: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", endpoint)
    deployed = Release(lab.connection(), load_project(project)).deploy(version=VERSIONS["v2"])
    assert (deployed.live, deployed.candidate) == (None, "blue")

    summary, suite = accept(lab, project, tmp_path)
    assert re.search(r"\b13 passed, 1 skipped\b", summary), summary
    skipped = {
        case.get("name"): case.find("skipped").get("message", "")  # type: ignore[union-attr]
        for case in suite.iter("testcase")
        if case.find("skipped") is not None
    }
    assert list(skipped) == ["test_candidate_agrees_with_live"]
    assert "not applicable" in skipped["test_candidate_agrees_with_live"]
    assert int(suite.get("failures", 0)) == int(suite.get("errors", 0)) == 0
