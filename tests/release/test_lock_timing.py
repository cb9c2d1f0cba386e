"""The release lock when writes take seconds, as on Azure: an emulator of its own on the azure timing
profile, scaled so that an endpoint update (40 s on Azure) takes about a second.

- Two promotes at once: exactly one holds the lock and runs; the other is refused; the endpoint's
  traffic and tags agree with the one verdict written.
- A forced rollback taking the lock while the stage's traffic change is still pending: the
  rollback's split holds, the stage stops (one schedule of tests/unit/release/test_lock_schedules.py,
  end to end).
- A stage that works longer than its lock's lease renews it: a rival finds the lock held after the
  first lease would have run out, and the stage ends normally.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labs import Lab
from release_lab import PROBE_RPS, REPO, VERSIONS, lock_holder, make_project
from rollout.azureml.endpoints import get_endpoint, live_traffic, set_tags, set_traffic
from rollout.azureml.sdk import state_name
from rollout.core.errors import UserError
from rollout.emulator.control.timing import Timing
from rollout.project.loading import load_project
from rollout.release.lock import LockLost
from rollout.release.roles import TAG_STAGE, TAG_VERDICT
from rollout.release.steps import Release

WRITE_SCALE = 0.025  # endpoint_update: 40 s x 0.025 = 1 s
SAMPLE = (REPO / "samples" / "sample.json").read_text()


@pytest.fixture(scope="module")
def paced(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A second emulator on the lab's registry, whose writes take about a second once `releasing`
    has set up its endpoint."""
    from rollout.emulator.host import process

    paced = Lab(tmp_path_factory.mktemp("paced-lab"), lab.registry_uri)
    process.start(paced.state_dir, paced.registry_uri)
    yield paced
    process.stop(paced.state_dir)


@pytest.fixture(scope="module")
def releasing(paced: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose endpoint has blue live on version 1 and green deployed with version 2.

    Made before the writes are slowed (a deployment would take 12 s on the paced profile): the
    emulator is then restarted on the paced profile, with the endpoint as it left it.
    """
    from rollout.emulator.host import process

    project = make_project(tmp_path_factory.mktemp("paced") / "project", "ep-lock-timing")
    rel = Release(paced.connection(), load_project(project))
    rel.deploy(version=VERSIONS["v1"])
    set_traffic(rel.conn.ml, rel.endpoint_name, {"blue": 100})
    rel.retire()
    rel.deploy(version=VERSIONS["v2"])
    process.stop(paced.state_dir)
    process.start(paced.state_dir, paced.registry_uri, timing=Timing("azure", WRITE_SCALE))
    with rel.conn.scoring(rel.endpoint_name) as client:  # both instances started again
        deadline = time.monotonic() + 60
        while not all(client.score(SAMPLE, deployment=slot).ok for slot in ("blue", "green")):
            assert time.monotonic() < deadline, "the instances did not start again"
            time.sleep(0.2)
    return project


def release(paced: Lab, project: Path) -> Release:
    """A release of its own (its own connection), as a separate job would have."""
    return Release(paced.connection(), load_project(project))


def test_a_write_takes_about_a_second_on_this_profile(paced: Lab, releasing: Path) -> None:
    rel = release(paced, releasing)
    began = time.monotonic()
    set_tags(rel.conn.ml, rel.endpoint_name, {"lock-test": "write"})
    assert 0.9 < time.monotonic() - began < 10


def test_two_promotes_at_once_one_wins_and_the_state_agrees(paced: Lab, releasing: Path) -> None:
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def promote() -> None:
        rel = release(paced, releasing)
        start.wait()
        try:
            outcomes.append(rel.promote("canary", bake_seconds=3, probe_rps=PROBE_RPS))
        except UserError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=promote) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == 2, outcomes
    refused = [o for o in outcomes if isinstance(o, UserError)]
    ran = [o for o in outcomes if not isinstance(o, UserError)]
    assert len(refused) == 1 and len(ran) == 1, outcomes
    assert "is held by" in str(refused[0])
    verdict = ran[0].verdict.outcome
    endpoint = get_endpoint(release(paced, releasing).conn.ml, "ep-lock-timing")
    tags = endpoint.tags or {}
    assert tags.get(TAG_VERDICT) == f"canary: {verdict}"
    assert lock_holder(release(paced, releasing)) is None
    expected = {"blue": 100} if ran[0].rolled_back else {"blue": 90, "green": 10}
    assert live_traffic(endpoint) == expected
    assert tags.get(TAG_STAGE) == ("canary" if verdict == "pass" else None)


def test_a_forced_rollback_while_the_stages_write_is_pending_wins(paced: Lab, releasing: Path) -> None:
    """One schedule of a stage S and a forced rollback R end to end, at Azure's pace: R takes the
    lock while S's traffic change is still an operation pending on the endpoint. R waits out what
    S had sent and the pending operation, then applies its split; S stops at its next check."""
    rel = release(paced, releasing)
    ml, endpoint = rel.conn.ml, rel.endpoint_name
    outcome: dict[str, Any] = {}

    def promote() -> None:
        try:
            outcome["result"] = release(paced, releasing).promote("canary", bake_seconds=30, probe_rps=5)
        except UserError as error:
            outcome["error"] = error

    stage = threading.Thread(target=promote)
    stage.start()
    began = time.monotonic()
    while state_name(get_endpoint(ml, endpoint).provisioning_state) != "Updating":
        assert time.monotonic() - began < 60 and stage.is_alive(), outcome
        time.sleep(0.02)
    rolled_back = release(paced, releasing).rollback(force_lock=True)
    stage.join(timeout=60)

    assert isinstance(outcome.get("error"), LockLost), outcome
    assert (rolled_back.live, rolled_back.candidate) == ("blue", "green")
    after = get_endpoint(ml, endpoint)
    assert live_traffic(after) == {"blue": 100}
    assert (after.tags or {}).get(TAG_VERDICT) == "rolled back"
    assert lock_holder(rel) is None
    rel.deploy(version=VERSIONS["v2"])  # the next test starts from green deployed at 0%


def test_a_stage_longer_than_its_lease_renews_the_lock(paced: Lab, releasing: Path) -> None:
    rel = release(paced, releasing)
    assert rel.project.plan.lock.lease_seconds == 15  # renewed every 5 s; the bake checks every 3 s
    outcome: dict[str, Any] = {}

    def promote() -> None:
        try:
            outcome["result"] = rel.promote("canary", bake_seconds=24, probe_rps=PROBE_RPS)
        except UserError as error:
            outcome["error"] = error

    thread = threading.Thread(target=promote)
    thread.start()
    began = time.monotonic()
    while (first := lock_holder(rel)) is None or first.pid is None:  # (metadata follows the lease)
        assert time.monotonic() - began < 30 and thread.is_alive(), outcome
        time.sleep(0.05)
    time.sleep(17)  # the first lease would have run out

    assert thread.is_alive(), f"the stage ended before its first lease did: {outcome}"
    now = lock_holder(rel)
    assert now is not None and now.pid == first.pid and (now.until or "") > (first.until or "")
    with pytest.raises(UserError, match="is held by"):
        release(paced, releasing).rollback()
    thread.join(timeout=90)
    assert "error" not in outcome, outcome["error"]  # the stage kept its lock to the end
    assert "result" in outcome
    assert lock_holder(rel) is None
