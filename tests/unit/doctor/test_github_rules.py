"""The GitHub side's rules: a row per environment, protected branch and variable, in step or naming
what `rollout github configure` would change, with its advice; no token is not a failure."""

from __future__ import annotations

import dataclasses
from typing import Any

from rollout.cli.doctor import AREAS as CLI_AREAS
from rollout.cli.doctor import markdown
from rollout.doctor.checks import Check, Diagnosis
from rollout.doctor.facts import GitHubFacts, GitHubNotChecked
from rollout.doctor.github_rules import github_checks
from rollout.doctor.run import AREAS
from rollout.github.branch_protection import BranchChange, Protection
from rollout.github.environments_config import BranchProtectionSpec, EnvironmentSpec
from rollout.github.environments_plan import Current, ReviewerId, Settings, plan_environment
from rollout.github.pull_request_variable import VariableChange

CLIENT_ID = "22222222-2222-4222-8222-222222222222"
OTHER_ID = "99999999-9999-4999-8999-999999999999"
TEAM = ReviewerId("Team", 7, "acme/approvers")
ADVICE = "`rollout github configure --repo acme/models --apply` makes it what .github/environments.yml says"
MAIN = Protection.from_spec(BranchProtectionSpec())


def production(**current: Any) -> Any:
    """The production environment as the file says it, against GitHub's `current` settings."""
    spec = EnvironmentSpec.model_validate(
        {
            "identity": {"client_id": CLIENT_ID},
            "reviewers": [{"team": "approvers"}],
            "can_admins_bypass": False,
            "branches": "protected",
        }
    )
    wanted = Settings.wanted(spec, (TEAM,))
    client_id = current.pop("client_id", CLIENT_ID)
    have = (
        Current(dataclasses.replace(wanted, **current), [], client_id)
        if current != {"missing": True}
        else None
    )
    return plan_environment("production", spec, wanted, have)


def rows(**facts: Any) -> list[Check]:
    return github_checks(GitHubFacts("acme/models", **facts))


def test_an_environment_in_step_is_one_green_row() -> None:
    (check,) = rows(environments=(production(),))
    assert check == Check("github", "environment production", True, "in step with .github/environments.yml")


def test_each_difference_is_what_configure_would_change_with_its_advice() -> None:
    for current, found in (
        ({"reviewers": ()}, "reviewers: none -> team acme/approvers"),
        ({"can_admins_bypass": True}, "can_admins_bypass: true -> false"),
        ({"client_id": OTHER_ID}, f"AZURE_CLIENT_ID: {OTHER_ID} -> {CLIENT_ID}"),
        ({"client_id": None}, f"AZURE_CLIENT_ID: unset -> {CLIENT_ID}"),
    ):
        (check,) = rows(environments=(production(**current),))
        assert (check.ok, check.subject, check.advice) == (False, "environment production", ADVICE)
        assert check.detail == f"would change {found}", check.detail


def test_an_environment_github_lacks_fails() -> None:
    (check,) = rows(environments=(production(missing=True),))
    assert (check.ok, check.detail, check.advice) == (False, "GitHub has no such environment", ADVICE)


def test_main_needs_code_owners_review_as_declared() -> None:
    without = dataclasses.replace(MAIN, require_code_owner_reviews=False)
    green, lax, bare = (
        rows(branches=(BranchChange("main", MAIN, current),))[0] for current in (MAIN, without, None)
    )
    assert green == Check(
        "github", "branch main", True, "protected as declared, code owners' review required"
    )
    assert (lax.ok, lax.detail, lax.advice) == (
        False,
        "would change require_code_owner_reviews: false -> true",
        ADVICE,
    )
    assert (bare.ok, bare.detail) == (False, "not protected")


def test_the_pull_requests_variable() -> None:
    (green,) = rows(variable=VariableChange(CLIENT_ID, CLIENT_ID))
    (unset,) = rows(variable=VariableChange(None, CLIENT_ID))
    assert green.ok and green.subject == "variable AZURE_PULL_REQUEST_CLIENT_ID"
    assert (unset.ok, unset.detail, unset.advice) == (False, f"would change unset -> {CLIENT_ID}", ADVICE)


def test_codeowners_and_an_unreadable_repository_fail_with_their_advice() -> None:
    owners, unread = rows(
        codeowners=("/deployments/ has no line; ...",), error="GitHub answered 403 to GET ..."
    )[::-1]
    assert not owners.ok and owners.subject == ".github/CODEOWNERS"
    assert "in .github/CODEOWNERS" in str(owners.advice)
    assert (
        not unread.ok
        and unread.detail == "cannot read the repository's settings: GitHub answered 403 to GET ..."
    )
    assert "Administration read" in str(unread.advice)


def test_no_token_or_no_file_is_one_row_and_not_a_failure() -> None:
    (skipped,) = github_checks(GitHubNotChecked("no GitHub token: give ..."))
    (undeclared,) = github_checks(GitHubFacts("acme/models", declared=False))
    assert skipped == Check("github", "-", True, "not checked: no GitHub token: give ...")
    assert undeclared.ok and "no .github/environments.yml" in undeclared.detail


def test_the_step_summary_is_the_table_and_the_advice_in_markdown() -> None:
    failing = Check("github", "environment a|b", False, "would change x", "run it")
    text = markdown(Diagnosis("azure", [Check("credential", "cli", True, "answered"), failing]))
    assert text.startswith("### rollout doctor: 1 check(s) failed\n")
    assert "| ok | credential | cli | answered |" in text
    assert "| **FAIL** | github | environment a\\|b | would change x |" in text
    assert text.endswith("- github environment a\\|b: run it\n")


def test_the_command_line_offers_the_runs_areas() -> None:
    assert CLI_AREAS == AREAS
