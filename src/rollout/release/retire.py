"""Retire: once the last stage has closed the release, delete the drained old deployment (the
endpoint's `rollout.drained`). Only a deployments delete: retire writes no endpoint, so the
history's summary tag ends with the last stage and only the history file records the retire.

With the plan's `retire_after`, the old deployment stays at 0% that long after the last stage
passed, so that a rollback in that time is one traffic change rather than a new deployment; a
retire before then is refused unless asked for at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from rollout.azureml.deployments import delete_deployment
from rollout.azureml.endpoints import live_traffic, mirror_traffic
from rollout.core.errors import UserError
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import DONE, TAG_HISTORY, from_tag
from rollout.release.results import RetireResult


def in_grace(ctx: ReleaseContext) -> str | None:
    """What keeps the old deployment now: the plan's `retire_after`, counted from the release's last
    stage that passed, and when it ends. None without a grace period, a recorded stage or an old
    deployment (a first release)."""
    seconds = ctx.project.plan.retire_after_seconds
    if not seconds:
        return None
    entries = from_tag((ctx.endpoint().tags or {}).get(TAG_HISTORY), ctx.endpoint_name)
    passed = [entry for entry in entries if entry.step == "stage" and entry.outcome == "pass"]
    if not passed or passed[-1].live is None:
        return None
    ends = datetime.fromisoformat(passed[-1].ended) + timedelta(seconds=seconds)
    if ends <= datetime.now(ends.tzinfo):
        return None
    return (
        f"the old deployment {passed[-1].live} stays at 0% until {ends:%Y-%m-%d %H:%M} UTC (the plan's"
        f" retire_after, {seconds / 60:g} min after the last stage passed): until then `rollout rollback`"
        " is one traffic change"
    )


def retire(ctx: ReleaseContext, force_lock: bool, now: bool = False) -> RetireResult:
    """Delete the drained old deployment of the closed release (not in its grace period unless
    `now`). A deployments delete only: the last stage closed the release in the endpoint's tags."""
    keeping = None if now else in_grace(ctx)
    if keeping is not None:
        raise UserError(f"{keeping}; `rollout retire --now` retires it at once")
    with ctx.lock("the retire", force=force_lock):
        endpoint = ctx.endpoint()
        roles = ctx.roles(endpoint)
        if roles.candidate is not None:
            share = live_traffic(endpoint).get(roles.candidate, 0)
            if share != 100:
                raise UserError(
                    f"candidate {roles.candidate} has {share}% of traffic; promote it to 100% first"
                )
            raise UserError(
                f"the release of {roles.model} into {roles.candidate} is still open: its last stage closes it"
                f" when it passes (`rollout promote --stage {ctx.project.plan.stages[-1].name}`)"
            )
        old = roles.drained
        if old is None:
            ctx.say("no drained deployment: nothing to retire")
            return RetireResult(None, roles.live)
        if live_traffic(endpoint).get(old) or mirror_traffic(endpoint).get(old):
            raise UserError(f"{old} still receives traffic ({split_of(endpoint)}); nothing was deleted")
        ctx.say(f"deleting {old}")
        delete_deployment(ctx.conn.ml, old, ctx.endpoint_name)
        ctx.record(
            "retire",
            "retire",
            DONE,
            replace(roles, live=old, candidate=roles.live),
            share="100",
            before=split_of(endpoint),
            after=split_of(ctx.endpoint()),
        )
    return RetireResult(old, roles.live)
