"""Shadow stages on the emulator: the candidate judged on mirrored copies of live requests while
users are served by live only, and mirroring off again however the stage ends."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from labs import Lab
from release_lab import FAST_PLAN, PROBE_RPS, SLOW_SECONDS, VERSIONS, user_traffic
from rollout.azureml.local_target import LocalTarget
from rollout.core.errors import UserError
from rollout.project.loading import load_project
from rollout.release.bake import BakeProgress
from rollout.release.shadow import SKIPPED
from rollout.release.steps import Release

# the probe load goes through the endpoint: live answers all, the candidate gets copies of half
SHADOW = {"name": "shadow", "mirror": 50, "bake": "2s", "environment": "shadow"}


@pytest.fixture
def project(project: Path) -> Path:
    """The lab's project whose plan starts with a 50% shadow stage."""
    plan_file = project / "deployments" / "release.yml"
    plan = yaml.safe_load(plan_file.read_text())
    plan["stages"] = [SHADOW, *FAST_PLAN["stages"]]
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))
    return project


def mirrored_to(rel: Release, deployment: str) -> int:
    """How many mirrored copies the emulator has sent `deployment` so far."""
    target = rel.conn.target
    assert isinstance(target, LocalTarget)
    rows = httpx.get(
        f"{target.url()}/metrics.json",
        params={"endpoint": rel.endpoint_name},
        verify=target.ca_file() or True,
    ).json()["deployments"]
    return sum(row["mirrored"] for row in rows if row["deployment"] == deployment)


def assert_users_served_by_live_only(replies: list[tuple[int, str | None]]) -> None:
    assert replies and Counter(replies) == Counter({(200, "blue"): len(replies)}), Counter(replies)


def assert_mirror_off_traffic_untouched(rel: Release) -> None:
    status = rel.status()
    assert (status.traffic, status.mirror_traffic) == ({"blue": 100}, {})


def test_a_healthy_candidate_passes_on_mirrored_requests_then_the_traffic_stages_follow(
    live_on_v1: Release,
) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    before = mirrored_to(rel, "green")
    with user_traffic(rel) as replies:
        result = rel.promote("shadow", probe_rps=PROBE_RPS)
    assert result.verdict.outcome == "pass", result.verdict
    assert (result.split, result.mirror, result.rolled_back) == ({"blue": 100}, {"green": 50}, False)
    # judged on the copies (and the one agreement batch sent by header): green had no live traffic
    judged = result.verdict.numbers["candidate_requests"]
    assert isinstance(judged, int) and judged >= rel.project.plan.analysis.min_requests
    assert mirrored_to(rel, "green") - before >= judged - 1
    assert any("judged on copies of 50% of the live requests" in note for note in result.verdict.notes)
    assert_users_served_by_live_only(replies)
    assert_mirror_off_traffic_untouched(rel)
    assert (rel.status().stage, rel.status().verdict) == ("shadow", "shadow: pass")
    assert rel.promote("canary", probe_rps=PROBE_RPS).verdict.outcome == "pass"
    assert rel.status().traffic == {"blue": 90, "green": 10}
    with pytest.raises(UserError, match="stage shadow has passed already"):
        rel.promote("shadow")


@pytest.mark.parametrize(
    ("version", "bake_seconds", "caught_on"),
    [
        ("flaky", None, "error rate"),  # answers the samples, fails every third request
        # long enough for copies held SLOW_SECONDS each to add up to min_requests
        ("slow", SLOW_SECONDS + 4, "p95 latency"),
    ],
)
def test_a_faulty_candidate_is_caught_on_copies_before_any_user_request_fails(
    live_on_v1: Release, version: str, bake_seconds: float | None, caught_on: str
) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS[version])
    with user_traffic(rel) as replies:
        result = rel.promote("shadow", bake_seconds=bake_seconds, probe_rps=PROBE_RPS)
    assert result.verdict.outcome == "fail", result.verdict
    assert any(reason.startswith(caught_on) for reason in result.verdict.reasons), result.verdict.reasons
    assert any("judged on copies of 50% of the live requests" in note for note in result.verdict.notes)
    assert not result.rolled_back  # no live traffic had moved
    assert_users_served_by_live_only(replies)  # zero failed user requests
    assert_mirror_off_traffic_untouched(rel)
    assert (rel.status().stage, rel.status().verdict) == (None, "shadow: fail")
    with pytest.raises(UserError, match="stage canary cannot start before stage shadow has passed"):
        rel.promote("canary")


def test_mirroring_is_turned_off_when_the_stage_is_interrupted(live_on_v1: Release) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    mirror_during_bake: list[dict[str, int]] = []

    def interrupt(progress: BakeProgress) -> None:
        mirror_during_bake.append(rel.status().mirror_traffic)
        raise KeyboardInterrupt  # Ctrl-C while the stage bakes

    with pytest.raises(KeyboardInterrupt):
        rel.promote("shadow", on_bake=interrupt)
    assert mirror_during_bake == [{"green": 50}]
    assert_mirror_off_traffic_untouched(rel)
    assert rel.status().stage is None


def test_a_first_release_skips_the_shadow_stage(lab: Lab, project: Path) -> None:
    rel = Release(lab.connection(), load_project(project))
    assert rel.deploy(version=VERSIONS["v2"]).live is None
    result = rel.promote("shadow")
    assert (result.verdict.outcome, result.verdict.reasons, result.mirror) == ("pass", [SKIPPED], {})
    status = rel.status()
    assert (status.traffic, status.mirror_traffic) == ({}, {})
    assert (status.stage, status.verdict) == ("shadow", "shadow: skipped")
