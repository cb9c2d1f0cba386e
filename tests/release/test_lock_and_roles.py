"""The release lock's staleness rules and how slots get their roles."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import asdict, replace
from types import SimpleNamespace

from rollout.release.lock import Holder, read_holder
from rollout.release.roles import idle_slot, model_of, read_roles


def test_fresh_lock_of_a_running_process_is_not_stale() -> None:
    assert not Holder.me(ttl_seconds=60).is_stale()


def test_expired_lock_is_stale() -> None:
    assert replace(Holder.me(60), expires="2000-01-01T00:00:00+00:00").is_stale()


def test_lock_of_a_dead_process_on_this_host_is_stale() -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    holder = replace(Holder.me(600), pid=int(dead.stdout))
    assert holder.host == socket.gethostname()
    assert holder.is_stale()
    assert not replace(holder, host="another-host").is_stale()


def test_lock_tag_round_trip_and_garbage() -> None:
    me = Holder.me(60)
    assert read_holder({"rollout.lock": json.dumps(asdict(me))}) == me
    assert read_holder({"rollout.lock": "not json"}) is None
    assert read_holder(None) is None
    assert me.pid == os.getpid()


def endpoint(traffic: dict[str, int], tags: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(traffic=traffic, tags=tags or {})


def test_live_slot_holds_the_most_traffic_without_a_release() -> None:
    roles = read_roles(endpoint({"blue": 100, "green": 0}), {"blue", "green"})
    assert (roles.live, roles.candidate, roles.in_progress) == ("blue", None, False)
    assert idle_slot(["blue", "green"], roles.live) == "green"
    assert idle_slot(["blue", "green"], None) == "blue"


def test_release_tags_name_live_and_candidate() -> None:
    tags = {
        "rollout.live": "blue",
        "rollout.candidate": "green",
        "rollout.stage": "canary",
        "rollout.model": "m:2",
    }
    roles = read_roles(endpoint({"blue": 90, "green": 10}, tags), {"blue", "green"})
    assert (roles.live, roles.candidate, roles.stage, roles.model) == ("blue", "green", "canary", "m:2")
    gone = read_roles(endpoint({"blue": 100}, tags), {"blue"})
    assert (gone.live, gone.candidate) == ("blue", None)


def test_model_of_reads_arm_ids_and_short_references() -> None:
    arm = (
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices"
        "/workspaces/w/models/heart/versions/3"
    )
    assert model_of(SimpleNamespace(model=arm)) == "heart:3"
    assert model_of(SimpleNamespace(model="azureml:heart:2")) == "heart:2"
