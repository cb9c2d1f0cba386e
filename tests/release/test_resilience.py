"""Resilience of a release: a failing metrics source, a candidate killed mid-canary.

On the release lab's emulator, through the real SDK, HTTPS and
instance processes; the metrics source fails behind a real local HTTP server.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from labs import Lab
from load_support import ConnectionWithMetrics, FailingMetricsProxy, SteadyLoad, instance_pid
from release_lab import PROBE_RPS, VERSIONS, lock_holder
from rollout.azureml.endpoints import get_endpoint, live_traffic
from rollout.project.loading import load_project
from rollout.release.bake import METRICS_ERROR_LIMIT
from rollout.release.results import StageResult
from rollout.release.roles import TAG_STAGE, TAG_VERDICT
from rollout.release.steps import Release


@contextmanager
def promoting(rel: Release, stage: str, bake_seconds: float) -> Iterator[dict[str, Any]]:
    """Run `rel.promote(stage)` in a thread; yield once the stage's split is set, join at the end."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = rel.promote(stage, bake_seconds=bake_seconds, probe_rps=PROBE_RPS)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, name=f"promote-{stage}", daemon=True)
    began = time.monotonic()
    thread.start()
    while not live_traffic(get_endpoint(rel.conn.ml, rel.endpoint_name)).get("green"):
        assert time.monotonic() - began < 90, f"the split never came: {outcome}"
        assert thread.is_alive(), f"the promote ended before its split: {outcome}"
        time.sleep(0.2)
    yield outcome
    thread.join(timeout=bake_seconds + 90)
    assert not thread.is_alive(), "the promote did not end"
    assert "error" not in outcome, outcome["error"]


def with_metrics_behind(lab: Lab, project, proxy: FailingMetricsProxy) -> Release:
    connection = lab.connection()
    return Release(ConnectionWithMetrics(connection.target, metrics_url=proxy.url), load_project(project))


def assert_back_on_live_with_verdict(rel: Release, verdict: str) -> None:
    endpoint = get_endpoint(rel.conn.ml, rel.endpoint_name)
    assert (live_traffic(endpoint), endpoint.mirror_traffic or {}) == ({"blue": 100}, {})
    tags = endpoint.tags or {}
    assert tags.get(TAG_VERDICT) == verdict
    assert not tags.get(TAG_STAGE)
    assert lock_holder(rel) is None, "the lock was not released"


@pytest.mark.parametrize("failure", ["500", "unreachable"])
def test_a_metrics_source_failing_mid_bake_ends_the_stage_in_error_and_back_on_live(
    lab: Lab, project, live_on_v1: Release, failure: str
) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    proxy = FailingMetricsProxy(lab.connection().target.url(), lab.connection().verify)
    rel = with_metrics_behind(lab, project, proxy)
    with SteadyLoad(rel, threads=2) as load, promoting(rel, "canary", bake_seconds=60) as outcome:
        time.sleep(2)
        failed_at = time.monotonic()
        if failure == "500":
            proxy.mode = "500"
        else:
            proxy.shut_down()
    took = time.monotonic() - failed_at
    proxy.shut_down()

    result: StageResult = outcome["result"]
    verdict = result.verdict
    assert verdict.outcome == "error", verdict
    assert result.rolled_back
    assert verdict.reasons[0].startswith("metrics source failed: the emulator's metrics at "), verdict
    assert ("answered 500" if failure == "500" else "ConnectError") in verdict.reasons[0], verdict.reasons
    assert f"({METRICS_ERROR_LIMIT} reads in a row)" in verdict.reasons[0]
    assert took < 30, f"the error was noticed {took:.0f} s after the source failed (bake: 60 s)"
    assert_back_on_live_with_verdict(rel, "canary: error")
    blue = load.statuses_by_deployment().get("blue")
    assert blue and set(blue) == {200}, load.statuses_by_deployment()


def test_a_single_failed_metrics_read_is_tried_again(lab: Lab, project, live_on_v1: Release) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    proxy = FailingMetricsProxy(lab.connection().target.url(), lab.connection().verify)
    rel = with_metrics_behind(lab, project, proxy)
    try:
        with promoting(rel, "canary", bake_seconds=6) as outcome:
            proxy.fail_next = METRICS_ERROR_LIMIT - 1
    finally:
        proxy.shut_down()
    assert proxy.reads["failed"] == METRICS_ERROR_LIMIT - 1
    verdict = outcome["result"].verdict
    # judged on the numbers (pass, or a loaded runner's latency), not ended by the failed reads
    assert verdict.outcome != "error" and verdict.numbers["candidate_requests"], verdict


def test_a_candidate_killed_mid_canary_fails_the_stage_and_live_loses_nothing(
    lab: Lab, project, live_on_v1: Release
) -> None:
    rel = live_on_v1
    rel.deploy(version=VERSIONS["v2"])
    ml, endpoint = rel.conn.ml, rel.endpoint_name

    def green_pid() -> int | None:
        return instance_pid(ml.online_deployments.get_logs("green", endpoint, lines=500))

    first = green_pid()
    assert first is not None
    killed: list[int] = []
    runner = Release(lab.connection(), load_project(project))
    with SteadyLoad(rel, threads=2) as load, promoting(runner, "canary", bake_seconds=40) as outcome:
        time.sleep(2)
        # down until the stage has ended: each instance the emulator brings back is killed again
        while "result" not in outcome:
            pid = green_pid()
            if pid is not None and pid not in killed:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.1)

    result: StageResult = outcome["result"]
    verdict = result.verdict
    assert killed and killed[0] == first
    assert verdict.outcome == "fail" and result.rolled_back, verdict
    assert any(reason.startswith("error rate ") for reason in verdict.reasons), verdict.reasons
    assert not any("agreement" in reason for reason in verdict.reasons), verdict.reasons
    assert any(note.startswith("agreement not measured: green answered 5") for note in verdict.notes), verdict
    assert_back_on_live_with_verdict(rel, "canary: fail")
    by_deployment = load.statuses_by_deployment()
    assert set(by_deployment) <= {"blue", "green"}, by_deployment
    assert set(by_deployment["blue"]) == {200}, f"the live deployment lost requests: {by_deployment}"
    assert set(by_deployment.get("green", {})) - {200} <= {500, 502, 503}, by_deployment

    # the emulator restarts the instance, which serves again
    deadline = time.monotonic() + 60
    with rel.conn.scoring(endpoint) as client:
        request = load.requests[0]
        while (pid := green_pid()) in killed or not client.score(request, deployment="green").ok:
            assert time.monotonic() < deadline, f"green was not restarted (pids killed: {killed}, now {pid})"
            time.sleep(0.5)
