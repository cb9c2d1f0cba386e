"""pull-request.yml's job graph, read from the YAML: every pull request, a rehearsal that reads
and never writes, and a fork's pull request that fails with its line, no secret within its reach."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "pull-request.yml"
SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
FORK = "github.event.pull_request.head.repo.full_name != github.repository"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def jobs(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow["jobs"]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else needs


def logs_in(job: dict[str, Any]) -> bool:
    return any(str(step.get("uses", "")).startswith("azure/login@") for step in job["steps"])


def test_it_runs_on_every_pull_request_without_a_paths_filter(workflow):
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert set(on) == {"pull_request"}
    assert not on["pull_request"]  # no paths, branches or types: a required check never stays pending


def test_a_pull_request_that_changes_no_plan_spec_or_sample_ends_green_with_nothing_to_rehearse(jobs):
    changes = jobs["changes"]
    assert "needs" not in changes and "if" not in changes
    diff = next(step for step in changes["steps"] if step.get("id") == "diff")
    for path in ("deployments/release.yml", "endpoints", "deployments", "samples"):
        assert path in diff["run"]
    assert "HEAD^1 HEAD" in diff["run"]  # the merge commit against its first parent, the base
    assert "Nothing to rehearse" in runs(changes)
    assert jobs["validate"]["if"] == "needs.changes.outputs.rehearse == 'true'"
    assert needs_of(jobs["validate"]) == ["changes"]
    assert "rollout validate" in runs(jobs["validate"])
    # every later job needs validate, so nothing runs (and nothing fails) when nothing changed
    assert needs_of(jobs["fork"]) == needs_of(jobs["rehearse"]) == ["validate"]


def test_contents_read_and_an_oidc_token_only_where_it_logs_in(workflow, jobs):
    assert workflow["permissions"] == {"contents": "read"}
    assert [job_id for job_id, job in jobs.items() if logs_in(job)] == ["rehearse"]
    for job_id, job in jobs.items():
        expected = {"contents": "read", "id-token": "write"} if job_id == "rehearse" else None
        assert job.get("permissions") == expected, f"{job_id} has permissions {job.get('permissions')}"
        assert "environment" not in job, f"{job_id} runs in an environment"


def test_no_secret_is_reachable_from_a_forks_pull_request(jobs):
    assert "secrets." not in WORKFLOW.read_text()
    # the job holding a token never runs for a fork; the fork's job has no token and logs in nowhere
    assert jobs["rehearse"]["if"] == SAME_REPOSITORY
    assert jobs["fork"]["if"] == FORK
    assert not logs_in(jobs["fork"]) and "permissions" not in jobs["fork"]


def test_a_forks_pull_request_fails_with_one_line_saying_how_a_maintainer_rehearses_it(jobs):
    (fails, summary) = jobs["fork"]["steps"]
    assert "exit 1" in fails["run"]
    assert "::error::" in fails["run"]
    assert "The rehearsal could not run" in fails["run"] and "rollout rehearse" in fails["run"]
    assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]


def test_the_rehearsal_reads_the_registry_with_its_own_identity_and_writes_nothing(jobs):
    job = jobs["rehearse"]
    login = next(step for step in job["steps"] if str(step.get("uses", "")).startswith("azure/login@"))
    assert login["with"]["client-id"] == "${{ vars.AZURE_PULL_REQUEST_CLIENT_ID }}"
    assert login["if"] == "env.ROLLOUT_TARGET == 'azure'"
    assert job["env"]["ROLLOUT_TARGET"] == "${{ vars.ROLLOUT_TARGET || 'azure' }}"
    commands = runs(job)
    assert "rollout rehearse --base HEAD^1" in commands
    assert "--target" not in commands
    for writes in (
        "rollout deploy",
        "rollout promote",
        "rollout rollback",
        "rollout retire",
        "rollout traffic",
    ):
        assert writes not in "\n".join(runs(other) for other in jobs.values())


def test_the_rehearsals_report_goes_into_the_job_summary_even_when_it_fails(jobs):
    job = jobs["rehearse"]
    rehearse = next(step for step in job["steps"] if "rollout rehearse" in str(step.get("run", "")))
    assert '--markdown "$RUNNER_TEMP/rehearsal.md"' in rehearse["run"]
    summary = job["steps"][-1]
    assert summary["if"] == "always()"
    assert 'cat "$RUNNER_TEMP/rehearsal.md"' in summary["run"] and "GITHUB_STEP_SUMMARY" in summary["run"]
    for job_id, other in jobs.items():
        summaries = [step for step in other["steps"] if "GITHUB_STEP_SUMMARY" in str(step.get("run", ""))]
        assert any(step.get("if") == "always()" for step in summaries), f"{job_id} writes no summary"


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(jobs):
    uses = [step["uses"] for job in jobs.values() for step in job["steps"] if "uses" in step]
    assert uses
    for ref in uses:
        assert SHA_PINNED.match(ref), f"{ref} is not pinned to a commit SHA"
    for line in (line for line in WORKFLOW.read_text().splitlines() if "uses:" in line):
        assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), f"no version comment: {line.strip()}"
