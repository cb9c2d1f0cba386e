"""The changes between an environment as GitHub has it and as `.github/environments.yml` says it:
pure, no request."""

from __future__ import annotations

from typing import Any

import pytest

from rollout.github.environments_apply import environment_body
from rollout.github.environments_config import EnvironmentSpec
from rollout.github.environments_plan import (
    Current,
    ReviewerId,
    Settings,
    current_settings,
    describe,
    plan_environment,
)

CLIENT_ID = "22222222-2222-4222-8222-222222222222"
TEAM = ReviewerId("Team", 7, "acme/approvers")
USER = ReviewerId("User", 3, "octocat")


def spec(**fields: Any) -> EnvironmentSpec:
    return EnvironmentSpec.model_validate({"identity": {"client_id": CLIENT_ID}, **fields})


def answer(**fields: Any) -> Any:
    """GET /repos/{owner}/{repo}/environments/{name}'s answer, the fields this code reads added."""
    return {"id": 1, "node_id": "EN_1", "name": "canary", "url": "", "html_url": "", **fields}


def test_an_environment_github_lacks_is_created_with_every_setting_shown() -> None:
    new = spec(reviewers=[{"team": "approvers"}], branches=["main"])

    change = plan_environment("canary", new, Settings.wanted(new, (TEAM,)), None)

    assert (change.exists, change.needs_put, change.add_branches, change.remove_policies) == (
        False,
        True,
        ["main"],
        [],
    )
    assert describe(change) == [
        "environment canary: create",
        "  wait_timer: 0 min",
        "  reviewers: team acme/approvers",
        "  prevent_self_review: false",
        "  deployment branches: selected branches",
        "  can_admins_bypass: true",
        "  add branch policy: main",
        f"  AZURE_CLIENT_ID: unset -> {CLIENT_ID}",
    ]


def test_an_environment_as_wanted_is_no_change() -> None:
    wanted_spec = spec(reviewers=[{"user": "octocat"}, {"team": "approvers"}], branches=["main"])
    wanted = Settings.wanted(wanted_spec, (USER, TEAM, USER))  # resolved twice: counted once
    current = Current(wanted, [(10, "main")], CLIENT_ID)

    change = plan_environment("canary", wanted_spec, wanted, current)

    assert change.empty
    assert describe(change) == ["environment canary: no changes"]


def test_drift_is_named_setting_by_setting_and_extra_policies_removed() -> None:
    wanted_spec = spec(wait_timer=5, branches=["main", "release/*"])
    wanted = Settings.wanted(wanted_spec, ())
    drifted = Settings(30, False, (USER,), "custom", False)
    current = Current(drifted, [(10, "main"), (11, "feature/*")], "old-id")

    change = plan_environment("canary", wanted_spec, wanted, current)

    assert describe(change) == [
        "environment canary: update",
        "  wait_timer: 30 min -> 5 min",
        "  reviewers: user octocat -> none",
        "  can_admins_bypass: false -> true",
        "  add branch policy: release/*",
        "  remove branch policy: feature/*",
        f"  AZURE_CLIENT_ID: old-id -> {CLIENT_ID}",
    ]


def test_githubs_answer_is_read_into_comparable_settings() -> None:
    environment = answer(
        can_admins_bypass=False,
        protection_rules=[
            {"id": 2, "node_id": "R_2", "type": "wait_timer", "wait_timer": 15},
            {
                "id": 3,
                "node_id": "R_3",
                "type": "required_reviewers",
                "prevent_self_review": True,
                "reviewers": [
                    {"type": "User", "reviewer": {"login": "octocat", "id": 3}},
                    {"type": "Team", "reviewer": {"slug": "approvers", "id": 7}},
                ],
            },
            {"id": 4, "node_id": "R_4", "type": "branch_policy"},
        ],
        deployment_branch_policy={"protected_branches": True, "custom_branch_policies": False},
    )

    settings = current_settings(environment)

    assert settings == Settings(15, True, (TEAM, USER), "protected", False)
    assert [r.label for r in settings.reviewers] == ["approvers", "octocat"]  # labels do not compare


@pytest.mark.parametrize(
    ("policy", "branch_policy"),
    [
        (None, "all"),
        ({"protected_branches": False, "custom_branch_policies": True}, "custom"),
    ],
)
def test_an_environment_without_rules_reads_as_githubs_defaults(policy, branch_policy) -> None:
    settings = current_settings(answer(deployment_branch_policy=policy))

    assert settings == Settings(0, False, (), branch_policy, True)


@pytest.mark.parametrize(
    ("branches", "policy"),
    [
        ("all", None),
        ("protected", {"protected_branches": True, "custom_branch_policies": False}),
        (["main"], {"protected_branches": False, "custom_branch_policies": True}),
    ],
)
def test_the_put_body_sets_every_setting(branches, policy) -> None:
    wanted = Settings.wanted(spec(reviewers=[{"team": "approvers"}], branches=branches), (TEAM,))

    assert environment_body(wanted) == {
        "wait_timer": 0,
        "prevent_self_review": False,
        "reviewers": [{"type": "Team", "id": 7}],
        "deployment_branch_policy": policy,
        "can_admins_bypass": True,
    }
