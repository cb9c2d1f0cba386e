"""Whether a release lock's holder runs on this host, and how slots get their roles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

from rollout.azureml.lease_lock import Holder
from rollout.release.roles import Roles, deployment_record, idle_slot, model_of, read_roles


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
    roles = read_roles(endpoint({"blue": 100, "green": 0}), slots())
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
    roles = read_roles(endpoint({"blue": 90, "green": 10}, tags), slots())
    assert (roles.live, roles.candidate, roles.stage, roles.model) == ("blue", "green", "canary", "m:2")
    assert roles.on_endpoint
    gone = read_roles(endpoint({"blue": 100}, tags), {"blue": slot()})
    assert (gone.live, gone.candidate) == ("blue", None)


def slot(tags: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(tags=tags or {})


def slots(
    blue: dict[str, str] | None = None, green: dict[str, str] | None = None
) -> dict[str, SimpleNamespace]:
    return {"blue": slot(blue), "green": slot(green)}


def recorded_on(name: str, release: str, live: str = "blue", model: str = "m:2") -> dict[str, str]:
    """The record `rollout deploy` writes on the candidate's tags."""
    return deployment_record(
        Roles(live=live, candidate=name, stage=None, model=model, run="7", history="h", release=release)
    )


def test_a_release_recorded_only_on_the_candidate_is_in_progress_for_status_and_gate() -> None:
    roles = read_roles(endpoint({"blue": 100, "green": 0}), slots(green=recorded_on("green", "2")))
    assert (roles.live, roles.candidate, roles.model, roles.run, roles.stage) == (
        "blue",
        "green",
        "m:2",
        "7",
        None,
    )
    assert not roles.on_endpoint
    # what the first stage writes with its traffic: the record, read back from the endpoint alone
    moved = endpoint({"blue": 90, "green": 10}, {**roles.record_tags(), "rollout.stage": "canary"})
    on_endpoint = read_roles(moved, slots(green=recorded_on("green", "2")))  # type: ignore[arg-type]
    assert (on_endpoint.candidate, on_endpoint.stage, on_endpoint.on_endpoint) == ("green", "canary", True)


def test_a_record_older_than_the_endpoints_is_no_release() -> None:
    closed = {
        "rollout.release": "2",
        "rollout.live": "green",
        "rollout.drained": "blue",
        "rollout.model": "m:2",
    }
    # green keeps the record of its own release (2), which the endpoint holds: closed, blue drained
    roles = read_roles(endpoint({"green": 100}, closed), slots(green=recorded_on("green", "2")))
    assert (roles.live, roles.candidate, roles.drained) == ("green", None, "blue")
    assert (roles.reopened().live, roles.reopened().candidate) == ("blue", "green")
    retired = read_roles(endpoint({"green": 100}, closed), {"green": slot(recorded_on("green", "2"))})
    assert (retired.live, retired.candidate, retired.drained) == ("green", None, None)
    # a newer release deployed into blue is the one in progress
    newer = read_roles(
        endpoint({"green": 100}, closed),
        slots(blue=recorded_on("blue", "3", live="green", model="m:3"), green=recorded_on("green", "2")),
    )
    assert (newer.live, newer.candidate, newer.model) == ("green", "blue", "m:3")


def test_a_candidate_given_all_traffic_by_hand_is_released() -> None:
    roles = read_roles(endpoint({"green": 100}), slots(green=recorded_on("green", "2")))
    assert (roles.live, roles.candidate, roles.drained) == ("green", None, "blue")


def test_model_of_reads_arm_ids_and_short_references() -> None:
    arm = (
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices"
        "/workspaces/w/models/heart/versions/3"
    )
    assert model_of(SimpleNamespace(model=arm)) == "heart:3"
    assert model_of(SimpleNamespace(model="azureml:heart:2")) == "heart:2"
