"""A rehearsal's default bake: long enough for the plan's min_requests in every stage, never short."""

from __future__ import annotations

from pathlib import Path

from rollout.project.loading import load_release_plan
from rollout.rehearsal.throwaway import rehearsal_bake

PLAN = Path(__file__).resolve().parents[3] / "deployments" / "release.yml"


def test_the_shadow_stage_gets_its_mirrored_share_of_the_probe_load() -> None:
    plan = load_release_plan(PLAN)  # min_requests 100; shadow mirrors 50%
    assert rehearsal_bake(plan, 50) == 6.0  # 150 requests at 25 a second
    assert rehearsal_bake(plan, 10) == 30.0


def test_never_shorter_than_four_seconds() -> None:
    plan = load_release_plan(PLAN)
    traffic_only = plan.model_copy(update={"stages": [s for s in plan.stages if s.mirror is None]})
    assert rehearsal_bake(traffic_only, 100) == 4.0  # 150 requests, half of 100 a second: 3 s


def test_a_traffic_stage_gets_half_of_the_probe_load_which_alternates_with_live() -> None:
    plan = load_release_plan(PLAN)
    traffic_only = plan.model_copy(update={"stages": [s for s in plan.stages if s.mirror is None]})
    assert rehearsal_bake(traffic_only, 50) == 6.0  # 150 requests at 25 a second
    assert rehearsal_bake(traffic_only, 20) == 15.0
    assert rehearsal_bake(plan, 0) == 4.0
