"""pull-request.yml executed under act, offline, for real `pull_request` events: a pin change 1 -> 2
rehearsed in the job (versions read from the release lab's registry, on the local target: no
login), its report in the job summary; a fork's pull request (it fails with its line, the
rehearsal never runs); a pull request that changes no plan, spec or sample (green, nothing to
rehearse). What each failure cause looks like is `rollout rehearse`'s (tests/release/
test_rehearse.py); the permissions and the fork's reach are the graph tests'
(tests/github/test_pull_request_workflow.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from labs import Lab
from rehearsal_support import explain
from release_lab import FAST_PLAN
from rollout.github.workflow import PULL_REQUEST_WORKFLOW
from rollout.rehearsal import act, repository
from rollout.rehearsal.act import RunResult
from rollout.rehearsal.repository import REPOSITORY, Repo, pin_to

REPO = Path(__file__).resolve().parents[2]
FORK = "someone/heart-models"


def pull_request_event(repo: Repo, head_repository: str) -> dict[str, Any]:
    """A `pull_request` (opened) payload: `repo.after` proposed onto main at `repo.before`."""
    push = repository.push_event(repo)
    owner = head_repository.split("/")[0]
    return {
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"ref": "new-version", "sha": repo.after, "repo": {"full_name": head_repository}},
            "base": {"ref": "main", "sha": repo.before, "repo": {"full_name": REPOSITORY}},
            "user": {"login": owner},
        },
        "repository": push["repository"],
        "sender": {"login": owner, "type": "User"},
    }


def run_check(
    tmp_path: Path,
    change: Callable[[Path], None],
    head_repository: str,
    rollout_home: Path | None = None,
    variables: dict[str, str] | None = None,
) -> RunResult:
    repo = repository.make_repo(REPO, tmp_path / "repo", 1, change)
    runner = act.ActRun(
        repo=repo.path,
        work=tmp_path / "work",
        venv=act.prepared_venv(),
        rollout_home=rollout_home or tmp_path / "rollout-home",
        variables={**repository.AZURE_VARS, **(variables or {})},
        stand_ins=REPO / repository.STAND_INS,
    )
    event = act.Event("pull_request", pull_request_event(repo, head_repository))
    return runner.run(event, PULL_REQUEST_WORKFLOW, timeout=240)


def pin_2_with_one_short_stage(root: Path) -> None:
    """The pin 1 -> 2, in a plan whose one stage bakes 2 s under limits that hold on busy cores."""
    pin_to(2)(root)
    plan_file = root / "deployments" / "release.yml"
    plan = yaml.safe_load(plan_file.read_text())
    plan["stages"] = [{"name": "full", "traffic": 100, "bake": "2s", "environment": "production"}]
    plan["analysis"] = FAST_PLAN["analysis"]
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_pin_change_is_rehearsed_with_its_report_in_the_job_summary(lab: Lab, tmp_path: Path) -> None:
    variables = {
        "ROLLOUT_TARGET": "local",
        "ROLLOUT_REHEARSAL_BAKE": "2s",
        "ROLLOUT_REHEARSAL_PROBE_RPS": "20",
    }
    result = run_check(tmp_path, pin_2_with_one_short_stage, REPOSITORY, lab.home, variables)
    assert result.returncode == 0, explain(result)
    assert result.results() == {
        "changes": "success",
        "validate": "success",
        "fork": "skipped",
        "rehearse": "success",
    }, explain(result)
    summary = result.jobs["rehearse"].summary
    assert "### Rehearsal passed: heart-classifier:2 released over heart-classifier:1" in summary
    assert "```mermaid" in summary and "full" in summary


@pytest.mark.timeout(300)
def test_a_forks_pull_request_fails_saying_the_rehearsal_could_not_run(tmp_path: Path) -> None:
    result = run_check(tmp_path, pin_to(2), FORK)
    assert result.returncode != 0, explain(result)
    assert result.results() == {
        "changes": "success",
        "validate": "success",
        "fork": "failure",
        "rehearse": "skipped",
    }, explain(result)
    assert result.jobs["changes"].outputs == {"rehearse": "true"}
    (line,) = [a for a in result.jobs["fork"].annotations if "could not run" in a]
    assert f"a pull request from the fork {FORK} gets no OpenID Connect token" in line
    assert "rollout rehearse --base origin/main" in line
    assert "## Rehearsal: not run" in result.jobs["fork"].summary


@pytest.mark.timeout(300)
def test_a_pull_request_that_changes_no_plan_spec_or_sample_is_green_with_nothing_to_rehearse(
    tmp_path: Path,
) -> None:
    def edit_readme(root: Path) -> None:
        (root / "README.md").write_text("Heart models.\n")

    result = run_check(tmp_path, edit_readme, REPOSITORY)
    assert result.returncode == 0, explain(result)
    assert result.results() == {
        "changes": "success",
        "validate": "skipped",
        "fork": "skipped",
        "rehearse": "skipped",
    }, explain(result)
    assert "Nothing to rehearse" in result.jobs["changes"].summary
