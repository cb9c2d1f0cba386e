"""The release lock when writes take seconds, as on Azure: an emulator of its own on the azure timing
profile, scaled so that an endpoint update (40 s on Azure) takes about a second.

- Two promotes at once: exactly one holds the lock and runs; the other is refused; the endpoint's
  traffic and tags agree with the one verdict written.
- A rival whose claim lands right after ours (it read the lock free while ours was being written)
  is seen: the settle time is longer than a write.
- A stage that works longer than its lock's lease renews it: a rival finds the lock held after the
  first expiry has passed, and the stage ends normally.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from labs import Lab
from release_lab import PROBE_RPS, REPO, VERSIONS, make_project
from rollout.azureml.endpoints import get_endpoint, live_traffic, set_tags, set_traffic
from rollout.core.errors import UserError
from rollout.emulator.control.timing import Timing
from rollout.project.loading import load_project
from rollout.release.lock import LOCK_TAG, Holder, read_holder, release_lock
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
    assert "is held by another release" in str(refused[0])
    verdict = ran[0].verdict.outcome
    endpoint = get_endpoint(release(paced, releasing).conn.ml, "ep-lock-timing")
    tags = endpoint.tags or {}
    assert tags.get(TAG_VERDICT) == f"canary: {verdict}"
    assert not tags.get(LOCK_TAG)
    expected = {"blue": 100} if ran[0].rolled_back else {"blue": 90, "green": 10}
    assert live_traffic(endpoint) == expected
    assert tags.get(TAG_STAGE) == ("canary" if verdict == "pass" else None)


def test_a_rival_claim_landing_right_after_ours_is_seen(paced: Lab, releasing: Path) -> None:
    rel = release(paced, releasing)
    ml, endpoint = rel.conn.ml, rel.endpoint_name
    outcome: dict[str, Any] = {}

    def take() -> None:
        try:
            with release_lock(release(paced, releasing).conn.ml, endpoint, 60):
                outcome["held"] = True
        except UserError as error:
            outcome["refused"] = error

    thread = threading.Thread(target=take)
    thread.start()
    # the rival read the lock free while our claim was being written; it writes its own claim as
    # soon as ours has landed, and that write takes as long as ours did
    began = time.monotonic()
    while read_holder(get_endpoint(ml, endpoint).tags) is None:
        assert time.monotonic() - began < 30 and thread.is_alive(), outcome
        time.sleep(0.02)
    rival = replace(Holder.me(60), owner="rival", host="another-runner", pid=1)
    set_tags(ml, endpoint, {LOCK_TAG: json.dumps(asdict(rival))})
    thread.join(timeout=60)
    set_tags(ml, endpoint, {LOCK_TAG: None})
    assert "refused" in outcome, "both held the lock: the re-read came before the rival's claim landed"
    assert "held by another release: rival (another-runner pid 1)" in str(outcome["refused"])


def test_a_stage_longer_than_its_lease_renews_the_lock(paced: Lab, releasing: Path) -> None:
    rel = release(paced, releasing)
    rel.lock_lease_seconds = 16  # renewed once less than 8 s are left; the lock is checked every 3 s
    outcome: dict[str, Any] = {}

    def promote() -> None:
        try:
            outcome["result"] = rel.promote("canary", bake_seconds=24, probe_rps=PROBE_RPS)
        except UserError as error:
            outcome["error"] = error

    thread = threading.Thread(target=promote)
    thread.start()
    ml, endpoint = rel.conn.ml, rel.endpoint_name
    began = time.monotonic()
    while (first := read_holder(get_endpoint(ml, endpoint).tags)) is None:
        assert time.monotonic() - began < 30 and thread.is_alive(), outcome
        time.sleep(0.05)
    time.sleep(max(0.0, first.seconds_left()) + 2)  # the first lease has run out

    assert thread.is_alive(), f"the stage ended before its first lease did: {outcome}"
    now = read_holder(get_endpoint(ml, endpoint).tags)
    assert now is not None and now.token == first.token and now.expires > first.expires
    with pytest.raises(UserError, match="is held by another release"):
        release(paced, releasing).rollback()
    thread.join(timeout=90)
    assert "error" not in outcome, outcome["error"]  # the stage kept its lock to the end
    assert "result" in outcome
    assert not (get_endpoint(ml, endpoint).tags or {}).get(LOCK_TAG)
