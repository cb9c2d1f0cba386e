"""How long a stage bakes: the plan's, or the one asked for, which a release workflow's traffic
stage may only lengthen (its ask comes from a repository variable no one reviews)."""

from __future__ import annotations

from rollout.release.promote import bake_seconds_of


def test_the_plans_bake_applies_unless_another_is_asked_for() -> None:
    assert bake_seconds_of(300, None, plan_bake_minimum=False) == 300
    assert bake_seconds_of(300, None, plan_bake_minimum=True) == 300
    assert bake_seconds_of(300, 2, plan_bake_minimum=False) == 2  # by hand, or a shadow stage


def test_with_the_plan_as_minimum_a_bake_is_lengthened_never_shortened() -> None:
    assert bake_seconds_of(300, 2, plan_bake_minimum=True) == 300
    assert bake_seconds_of(300, 900, plan_bake_minimum=True) == 900
