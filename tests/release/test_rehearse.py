"""`rollout rehearse` as a user runs it: versions of the lab's registry rehearsed on a throwaway
emulator of the command's own, which leaves the lab's emulator, registry and history as they were.
A failing rehearsal stops at the step that failed and ends in one line naming its cause: a
version that breaks the output contract or one that disagrees with live (the acceptance suite), one
whose requirements miss a package its model imports (its deployment, with the container's log)."""

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


def _failure(lab: Lab, project: Path, version: str, summary: Path) -> tuple[str, str]:
    """`rollout rehearse` of a lab version over version 1, which fails: its one `error:` line and
    its progress (stderr); no stage ran, and the lab is as it was."""
    before = registry.latest_version(registry.client(lab.registry_uri), MODEL)
    result = lab.in_process(
        "rehearse", "--version", str(VERSIONS[version]), "--live", str(VERSIONS["v1"]), *FAST,
        "--markdown", str(summary), cwd=project,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert "stage full" not in result.stderr  # it stopped at the step that failed
    cause = errors[0].removeprefix("error: the rehearsal failed: ")
    assert summary.read_text().startswith(f"### Rehearsal failed: {MODEL}:{VERSIONS[version]}\n\n{cause}\n")
    _untouched(lab, project, before)
    return errors[0], result.stderr


def test_a_version_breaking_the_output_contract_fails_naming_the_cause(lab: Lab, project: Path) -> None:
    summary = project / "summary.md"
    line, _ = _failure(lab, project, "off-label", summary)
    assert line.startswith(
        "error: the rehearsal failed: the acceptance suite failed against green: "
        "test_candidate_scores_every_sample[probe.json]: AssertionError: output contract: "
    ), line


def test_a_version_that_disagrees_with_live_fails_naming_the_cause(lab: Lab, project: Path) -> None:
    line, _ = _failure(lab, project, "contrary", project / "summary.md")
    assert line.startswith(
        "error: the rehearsal failed: the acceptance suite failed against green: "
        "test_candidate_agrees_with_live: AssertionError: agreement 0.00% over "
    ), line


def test_a_version_whose_requirements_miss_a_package_fails_its_deployment(lab: Lab, project: Path) -> None:
    line, progress = _failure(lab, project, "missing", project / "summary.md")
    assert line.startswith("error: the rehearsal failed: deployment green failed: "), line
    assert "ModuleNotFoundError: No module named 'xgboost'" in line
    assert "acceptance suite against green" not in progress  # the deployment was the step that failed
    assert "--- last log lines of green ---" in progress  # the container's log, as the check shows it
    assert (
        "ModuleNotFoundError: No module named 'xgboost'"
        in progress.split("--- last log lines of green ---")[1]
    )


def test_the_candidate_itself_as_live_version_is_refused_before_anything_starts(
    lab: Lab, project: Path
) -> None:
    result = lab.in_process("rehearse", "--version", "1", "--live", "1", cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --live is version 1, the candidate itself: nothing to rehearse"
