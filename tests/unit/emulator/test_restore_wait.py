"""The progress line `rollout emulator start` prints while restored deployments start."""

from __future__ import annotations

from rollout.emulator.host.restore_wait import Health, Restored, describe


def test_progress_names_each_deployment_with_its_state():
    health = Health(
        "restoring",
        (Restored("shop", "blue", "ready"), Restored("shop", "green", "starting", "0 of 1 instances ready")),
    )
    assert describe(health) == "restoring 2 deployments: blue ready, green starting"


def test_a_failed_deployment_says_why_and_several_endpoints_are_named():
    health = Health(
        "ok",
        (Restored("shop", "blue", "ready"), Restored("till", "blue", "failed", "No module named 'xgboost'")),
    )
    assert (
        describe(health)
        == "restored 2 deployments: shop/blue ready, till/blue failed (No module named 'xgboost')"
    )
    assert describe(Health("ok", (Restored("shop", "blue", "ready"),))) == "restored 1 deployment: blue ready"
