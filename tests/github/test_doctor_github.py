"""`rollout doctor`'s GitHub side against the local stand-in for GitHub's REST API: a repository
that `rollout github configure --apply` made as `.github/environments.yml` says gives green rows;
each setting changed behind the file's back gives its row, the configure command to run, and exit 1.
Without a token the side is one row saying so, not a failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fake_github import FakeGitHub

RELEASE_ID = "11111111-1111-4111-8111-111111111111"
PRODUCTION_ID = "33333333-3333-4333-8333-333333333333"
PULL_REQUEST_ID = "55555555-5555-4555-8555-555555555555"
WRONG_ID = "99999999-9999-4999-8999-999999999999"

CONFIG = f"""\
environments:
  release:
    identity: {{client_id: {RELEASE_ID}}}
    branches: [main]
  production:
    identity: {{client_id: {PRODUCTION_ID}}}
    roles: [rollout-traffic, rollout-lock]
    reviewers:
      - user: octocat
      - team: approvers
    prevent_self_review: true
    can_admins_bypass: false
    branches: protected
pull_requests:
  identity: {{client_id: {PULL_REQUEST_ID}}}
branch_protection:
  main:
    required_status_checks: [Lint]
code_owners:
  /deployments/:
    - team: approvers
"""


@pytest.fixture
def repository(project: Path, github_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose repository `rollout github configure --apply` made as its file says."""
    monkeypatch.setenv("GITHUB_TOKEN", github_api.token)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    github = project / ".github"
    github.mkdir()
    (github / "environments.yml").write_text(CONFIG)
    (github / "CODEOWNERS").write_text("/deployments/ @acme/approvers\n")
    github_api.add_user("octocat")
    github_api.add_team("approvers")
    argv = ["--repo", "acme/models", "--api-url", github_api.url, "--apply"]
    argv += ["--config", str(github / "environments.yml"), "--codeowners", str(github / "CODEOWNERS")]
    applied = rollout("github", "configure", *argv)
    assert applied.exit_code == 0, applied.output
    return project


def rollout(*args: str) -> Result:
    from rollout.cli import app

    return CliRunner().invoke(app, list(args))


Rows = dict[str, tuple[bool, str, str | None]]  # subject -> (ok, found, advice)


@pytest.fixture
def doctor(repository: Path, github_api: FakeGitHub) -> Callable[..., tuple[int, Rows]]:
    """`rollout doctor --only github --json` for the project and the stand-in's repository."""

    def run(*extra: str) -> tuple[int, Rows]:
        argv = ["doctor", "--path", str(repository), "--only", "github", "--github-repo", "acme/models"]
        result = rollout(*argv, "--github-api-url", github_api.url, "--json", *extra)
        assert result.stderr == ""
        checks = json.loads(result.stdout)["checks"]
        assert {check["area"] for check in checks} == {"github"}
        return result.exit_code, {c["subject"]: (c["ok"], c["detail"], c["advice"]) for c in checks}

    return run


ADVICE = "`rollout github configure --repo acme/models --apply` makes it what .github/environments.yml says"


def test_a_repository_configured_as_the_file_says_is_green(doctor, github_api: FakeGitHub) -> None:
    before = len(github_api.requests)
    code, rows = doctor()
    assert code == 0, rows
    assert rows == {
        "environment release": (True, "in step with .github/environments.yml", None),
        "environment production": (True, "in step with .github/environments.yml", None),
        "branch main": (True, "protected as declared, code owners' review required", None),
        "variable AZURE_PULL_REQUEST_CLIENT_ID": (True, "the pull requests' identity, as declared", None),
    }
    assert {r.method for r in github_api.requests[before:]} == {"GET"}  # read only
    assert github_api.violations == []


def test_settings_changed_on_github_each_give_their_row_and_the_configure_command(
    doctor, github_api: FakeGitHub, tmp_path: Path
) -> None:
    production = github_api.environments["production"]
    production.reviewers = [(kind, i) for kind, i in production.reviewers if kind != "User"]
    production.can_admins_bypass = True
    github_api.environments["release"].variables["AZURE_CLIENT_ID"] = WRONG_ID
    protection = github_api.branches["main"]
    assert protection is not None
    protection["required_pull_request_reviews"]["require_code_owner_reviews"] = False
    token = tmp_path / "token"
    token.write_text(github_api.token + "\n")

    code, rows = doctor("--github-token-file", str(token))

    assert code == 1
    reviewers = "reviewers: team approvers -> team acme/approvers, user octocat"
    assert rows["environment production"] == (
        False,
        f"would change {reviewers}; can_admins_bypass: true -> false",
        ADVICE,
    )
    assert rows["environment release"] == (
        False,
        f"would change AZURE_CLIENT_ID: {WRONG_ID} -> {RELEASE_ID}",
        ADVICE,
    )
    assert rows["branch main"] == (False, "would change require_code_owner_reviews: false -> true", ADVICE)
    assert rows["variable AZURE_PULL_REQUEST_CLIENT_ID"][0] is True
    assert github_api.violations == []


def test_without_a_token_the_github_side_is_one_row_saying_how_to_check_it(
    doctor, monkeypatch: pytest.MonkeyPatch, github_api: FakeGitHub
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    before = len(github_api.requests)
    code, rows = doctor()
    assert code == 0
    ((ok, found, _),) = rows.values()
    assert ok and found.startswith("not checked: no GitHub token: give a token with --github-token-file FILE")
    assert len(github_api.requests) == before
