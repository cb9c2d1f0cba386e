"""Retire: once the candidate takes all traffic, delete the drained old deployment and close the
release (its tags cleared; the history keeps it).

With the plan's `retire_after`, the old deployment stays at 0% that long after the last stage
passed, so that a rollback in that time is one traffic change rather than a new deployment; a
retire before then is refused unless asked for at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rollout.azureml.deployments import delete_deployment
from rollout.azureml.endpoints import live_traffic, mirror_traffic, set_tags
from rollout.core.errors import UserError
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import DONE, TAG_HISTORY, from_tag
from rollout.release.results import RetireResult
from rollout.release.roles import RELEASE_TAGS


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
    """Delete the drained old deployment and close the release (not in its grace period unless `now`)."""
    keeping = None if now else in_grace(ctx)
    if keeping is not None:
        raise UserError(f"{keeping}; `rollout retire --now` retires it at once")
    with ctx.lock("the retire", force=force_lock):
        roles = ctx.roles()
        candidate = roles.candidate
        if candidate is None:
            ctx.say("no release in progress: nothing to retire")
            return RetireResult(None, roles.live)
        endpoint = ctx.endpoint()
        share = live_traffic(endpoint).get(candidate, 0)
        if share != 100:
            raise UserError(f"candidate {candidate} has {share}% of traffic; promote it to 100% first")
        old = roles.live
        if old and old in ctx.deployments():
            if mirror_traffic(endpoint).get(old):
                raise UserError(f"{old} still receives mirrored traffic; run `rollout mirror off` first")
            ctx.say(f"deleting {old}")
            delete_deployment(ctx.conn.ml, old, ctx.endpoint_name)
        tags: dict[str, str | None] = dict.fromkeys(RELEASE_TAGS)
        tags[TAG_HISTORY] = ctx.history_tag("retire", DONE, "100")
        after = set_tags(ctx.conn.ml, ctx.endpoint_name, tags)
        ctx.record(
            "retire",
            "retire",
            DONE,
            roles,
            share="100",
            before=split_of(endpoint),
            after=split_of(after),
        )
    return RetireResult(old, candidate)
