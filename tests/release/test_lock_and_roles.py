"""Whether a release lock's holder runs on this host, and how slots get their roles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

from rollout.azureml.lease_lock import Holder
from rollout.release.roles import idle_slot, model_of, read_roles


def test_a_holder_of_this_host_runs_here_until_its_process_ends() -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    me = Holder("me", host=socket.gethostname(), pid=os.getpid())
    assert me.runs_here() and not me.gone_from_here()
    gone = replace(me, pid=int(dead.stdout))
    assert gone.gone_from_here() and not gone.runs_here()
    elsewhere = replace(gone, host="another-host")
    assert not elsewhere.runs_here() and not elsewhere.gone_from_here()  # only its lease tells
    assert not Holder("written by an older rollout").gone_from_here()


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
