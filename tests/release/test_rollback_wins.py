"""A rollback during a running stage wins: it is the emergency path.

`rollout rollback --force-lock` takes the release lock from a promote that is baking; the promote,
at its next check (every few seconds of the bake, and again before it writes anything), finds the
lock no longer its own, writes nothing (no traffic, no stage or verdict tags) and fails naming who
took over.
"""

from __future__ import annotations

import threading
import time

import pytest

from labs import Lab
from release_lab import VERSIONS, lock_holder
from rollout.azureml.endpoints import get_endpoint, live_traffic
from rollout.project.loading import load_project
from rollout.release.lock import LockLost
from rollout.release.roles import TAG_STAGE, TAG_VERDICT
from rollout.release.steps import Release

BAKE_SECONDS = 30
LOCK_CHECK_EVERY_SECONDS = 3  # rollout.release.bake checks its lock this often


def test_a_rollback_with_force_lock_wins_over_a_baking_stage(lab: Lab, project, live_on_v1: Release) -> None:
    live_on_v1.deploy(version=VERSIONS["v2"])
    outcome: dict[str, BaseException | object] = {}

    def promote() -> None:
        stage_runner = Release(lab.connection(), load_project(project))  # its own client, as a job
        try:
            outcome["result"] = stage_runner.promote("canary", bake_seconds=BAKE_SECONDS, probe_rps=5)
        except BaseException as error:
            outcome["error"] = error

    began = time.monotonic()
    baking = threading.Thread(target=promote, name="promote-canary")
    baking.start()
    ml = live_on_v1.conn.ml
    while live_traffic(get_endpoint(ml, live_on_v1.endpoint_name)).get("green") != 10:
        assert time.monotonic() - began < 90, f"the canary split never came: {outcome}"
        assert baking.is_alive(), f"the promote ended before baking: {outcome}"
        time.sleep(0.5)

    rolled_back = Release(lab.connection(), load_project(project)).rollback(force_lock=True)
    rolled_back_at = time.monotonic()
    baking.join(timeout=BAKE_SECONDS + 60)

    assert not baking.is_alive()
    error = outcome.get("error")
    assert isinstance(error, LockLost), f"the promote went on: {outcome}"
    assert "taken over by" in str(error) and "stage canary stopped and changed nothing" in str(error)
    # it noticed during the bake, not at its end
    assert time.monotonic() - rolled_back_at < LOCK_CHECK_EVERY_SECONDS + 10
    assert time.monotonic() - began < BAKE_SECONDS
    assert (rolled_back.live, rolled_back.candidate) == ("blue", "green")
    endpoint = get_endpoint(ml, live_on_v1.endpoint_name)
    assert live_traffic(endpoint) == {"blue": 100}
    tags = endpoint.tags or {}
    assert tags.get(TAG_VERDICT) == "rolled back"  # the rollback's verdict, not the stage's
    assert not tags.get(TAG_STAGE)
    assert lock_holder(live_on_v1) is None  # the rollback released it; the stage wrote nothing


@pytest.mark.parametrize("force", [False])
def test_without_force_lock_a_rollback_is_refused_while_a_stage_bakes(
    lab: Lab, project, live_on_v1: Release, force: bool
) -> None:
    from rollout.core.errors import UserError

    live_on_v1.deploy(version=VERSIONS["v2"])
    done = threading.Event()

    def promote() -> None:
        try:
            Release(lab.connection(), load_project(project)).promote("canary", bake_seconds=8, probe_rps=5)
        finally:
            done.set()

    baking = threading.Thread(target=promote)
    baking.start()
    began = time.monotonic()
    ml = live_on_v1.conn.ml
    while live_traffic(get_endpoint(ml, live_on_v1.endpoint_name)).get("green") != 10:
        assert time.monotonic() - began < 90 and not done.is_set()
        time.sleep(0.5)
    refused_at = time.monotonic()
    with pytest.raises(UserError, match=r"the release lock of endpoint \S+ is held by .*--force-lock"):
        Release(lab.connection(), load_project(project)).rollback(force_lock=force)
    assert time.monotonic() - refused_at < 5  # a holder that runs on this host is refused at once
    baking.join(timeout=60)
