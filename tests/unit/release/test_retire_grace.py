"""The plan's retire_after: what keeps the old deployment after the last stage, read from the
endpoint's history tag (no endpoint is changed, so plain values stand for the endpoint)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from rollout.release.history import TAG_HISTORY, tag_add, tag_start
from rollout.release.retire import in_grace


def context(retire_after: float, live: str | None, passed_ago: timedelta) -> Any:
    passed = (datetime.now(UTC) - passed_ago).isoformat(timespec="seconds")
    tag = tag_add(tag_start("m:2", "green", live), "full", "pass", "100", passed)
    endpoint = SimpleNamespace(tags={TAG_HISTORY: tag})
    plan = SimpleNamespace(retire_after_seconds=retire_after)
    return SimpleNamespace(project=SimpleNamespace(plan=plan), endpoint=lambda: endpoint, endpoint_name="ep")


def test_the_old_deployment_is_kept_until_retire_after_has_passed() -> None:
    kept = in_grace(context(3600, "blue", timedelta(minutes=10)))
    assert kept is not None
    assert kept.startswith("the old deployment blue stays at 0% until ")
    assert "(the plan's retire_after, 60 min after the last stage passed)" in kept
    assert in_grace(context(3600, "blue", timedelta(minutes=61))) is None


def test_nothing_is_kept_without_a_grace_period_or_an_old_deployment() -> None:
    assert in_grace(context(0, "blue", timedelta(0))) is None
    assert in_grace(context(3600, None, timedelta(0))) is None  # a first release: nothing to keep
