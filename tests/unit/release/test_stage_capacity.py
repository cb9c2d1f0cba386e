"""A stage that moves all traffic starts only when the candidate has as many instances as live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from rollout.core.errors import UserError
from rollout.project.specs import Stage
from rollout.release import promote


@dataclass
class Deployment:
    instance_count: int


@dataclass
class Context:
    counts: dict[str, int]

    def deployments(self) -> dict[str, Deployment]:
        return {name: Deployment(count) for name, count in self.counts.items()}


FULL = Stage(name="full", traffic=100, bake=60, environment="production")


def check(stage: Stage, counts: dict[str, int], live: str | None = "blue") -> None:
    promote._check_capacity(cast(Any, Context(counts)), stage, "green", live)


def test_all_traffic_to_a_candidate_with_fewer_instances_than_live_is_refused_naming_both() -> None:
    with pytest.raises(UserError) as refused:
        check(FULL, {"blue": 3, "green": 1})
    assert str(refused.value).startswith(
        "stage full would move all traffic to green, which has 1 instance(s) where live blue has 3:"
    )
    assert "`instance_count: 3`" in str(refused.value) and "allow_fewer_instances: true" in str(refused.value)


@pytest.mark.parametrize(
    ("stage", "counts", "live"),
    [
        (FULL, {"blue": 2, "green": 2}, "blue"),  # as many
        (FULL, {"blue": 1, "green": 3}, "blue"),  # more
        (FULL, {"green": 1}, None),  # a first release: no live
        (
            Stage(name="half", traffic=50, bake=60, environment="production-half"),
            {"blue": 3, "green": 1},
            "blue",
        ),
        (FULL.model_copy(update={"allow_fewer_instances": True}), {"blue": 3, "green": 1}, "blue"),
    ],
)
def test_the_stage_starts_otherwise(stage: Stage, counts: dict[str, int], live: str | None) -> None:
    check(stage, counts, live)


def test_the_plan_says_so_per_stage() -> None:
    stage = Stage.model_validate(
        {
            "name": "full",
            "traffic": 100,
            "bake": "5m",
            "environment": "production",
            "allow_fewer_instances": True,
        }
    )
    assert stage.allow_fewer_instances and not FULL.allow_fewer_instances
