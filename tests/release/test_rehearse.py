"""`rollout rehearse` as a user runs it: versions of the lab's registry rehearsed on a throwaway
emulator of the command's own, which leaves the lab's emulator, registry and history as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from labs import Lab
from release_lab import FAST_PLAN, MODEL, PROBE_RPS, VERSIONS, make_project
from rollout import registry
from rollout.release import history

FAST = ("--bake", "2s", "--probe-rps", str(PROBE_RPS))
# one traffic stage: what a rehearsal does in every stage is the release's own (tests/release)
FULL = {"name": "full", "traffic": 100, "bake": "2s", "environment": "production"}
ONE_STAGE = {**FAST_PLAN, "stages": [FULL]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose endpoint exists only in each rehearsal's own emulator."""
    return make_project(tmp_path / "project", "ep-rehearsed", ONE_STAGE)


def _untouched(lab: Lab, project: Path, versions_before: int | None) -> None:
    """The lab (the user's local state) has no endpoint, history or version from the rehearsal."""
    from rollout.project.loading import load_project

    endpoint = load_project(project).endpoint_name
    assert endpoint not in [e.name for e in lab.connection().ml.online_endpoints.list()]
    assert not history.history_file(endpoint).exists()
    assert registry.latest_version(registry.client(lab.registry_uri), MODEL) == versions_before


def test_a_good_version_rehearses_its_release_and_reports_it(lab: Lab, project: Path) -> None:
    before = registry.latest_version(registry.client(lab.registry_uri), MODEL)
    summary = project / "summary.md"
    result = lab.in_process(
        "rehearse", "--version", str(VERSIONS["v2"]), "--live", str(VERSIONS["v1"]), *FAST,
        "--markdown", str(summary), cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"rehearsal passed: {MODEL}:2 released over {MODEL}:1" in result.stdout
    assert "At a glance: full pass" in result.stdout  # the terminal report
    text = summary.read_text()
    assert text.startswith(f"### Rehearsal passed: {MODEL}:2 released over {MODEL}:1")
    assert "```mermaid" in text and "full" in text  # the Markdown report, charts included
    _untouched(lab, project, before)


def test_a_broken_version_fails_naming_the_cause(lab: Lab, project: Path) -> None:
    before = registry.latest_version(registry.client(lab.registry_uri), MODEL)
    summary = project / "summary.md"
    result = lab.in_process(
        "rehearse", "--version", str(VERSIONS["broken"]), "--live", str(VERSIONS["v1"]), *FAST,
        "--markdown", str(summary), cwd=project,
    )  # fmt: skip
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        "error: the rehearsal failed: the acceptance suite failed against green: "
        "test_candidate_scores_every_sample[probe.json]: AssertionError: "
    ), errors
    assert f"### Rehearsal failed: {MODEL}:{VERSIONS['broken']}" in summary.read_text()
    _untouched(lab, project, before)


def test_the_candidate_itself_as_live_version_is_refused_before_anything_starts(
    lab: Lab, project: Path
) -> None:
    result = lab.in_process("rehearse", "--version", "1", "--live", "1", cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --live is version 1, the candidate itself: nothing to rehearse"
