"""Who approved a stage's environment, read from the run's review history on the GitHub stand-in,
as a stage job in GitHub Actions reads it (its run's variables and the job's token)."""

from __future__ import annotations

from fake_github import FakeGitHub
from rollout.cli.gate import gate_approval
from rollout.release.history import GATE_OPEN, GATE_REVIEWED, GATE_UNREAD, Approval

RUN_ID = 4242


def job_environ(api: FakeGitHub, token: str | None = "test-token") -> dict[str, str]:
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": api.url,
        "GITHUB_REPOSITORY": f"{api.owner}/{api.repo}",
        "GITHUB_RUN_ID": str(RUN_ID),
    }
    return environ | ({"GITHUB_TOKEN": token} if token else {})


def test_the_approvers_of_the_stages_environment_in_this_run(github_api: FakeGitHub) -> None:
    github_api.add_review(RUN_ID, ["canary"], "alice", comment="metrics look fine")
    github_api.add_review(RUN_ID, ["canary", "production"], "bob")
    github_api.add_review(RUN_ID, ["production-half"], "carol")
    github_api.add_review(RUN_ID, ["canary"], "mallory", state="rejected")
    github_api.add_review(RUN_ID + 1, ["canary"], "dave")  # another run

    approval = gate_approval("canary", job_environ(github_api))

    assert approval == Approval(GATE_REVIEWED, ["alice", "bob"], "canary", "metrics look fine")
    (request,) = github_api.requests
    assert (request.method, request.path) == ("GET", f"/repos/acme/models/actions/runs/{RUN_ID}/approvals")
    assert request.headers["Authorization"] == "token test-token"  # the job's token
    assert github_api.violations == []


def test_an_environment_nobody_reviewed_in_this_run_asked_for_no_approval(github_api: FakeGitHub) -> None:
    github_api.add_review(RUN_ID, ["production"], "bob")
    assert gate_approval("canary", job_environ(github_api)) == Approval(GATE_OPEN, environment="canary")


def test_a_review_history_that_cannot_be_read_is_recorded_as_unread(github_api: FakeGitHub) -> None:
    refused = gate_approval("canary", job_environ(github_api, token="wrong"))
    assert refused == Approval(
        GATE_UNREAD,
        environment="canary",
        why_unread=f"GitHub answered 401 to GET /repos/acme/models/actions/runs/{RUN_ID}/approvals: "
        "Bad credentials",
    )
    no_token = gate_approval("canary", job_environ(github_api, token=None))
    assert no_token is not None and no_token.why_unread == "no GITHUB_TOKEN in the job's environment"
    assert len(github_api.requests) == 1  # no token: nothing sent


def test_outside_github_actions_nothing_is_asked(github_api: FakeGitHub) -> None:
    environ = job_environ(github_api) | {"GITHUB_ACTIONS": ""}
    assert gate_approval("canary", environ) is None
    assert github_api.requests == []
