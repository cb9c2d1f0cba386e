"""Retire: once the candidate takes all traffic, delete the drained old deployment and close the
release (its tags cleared; the history keeps it)."""

from __future__ import annotations

from rollout.azureml.deployments import delete_deployment
from rollout.azureml.endpoints import live_traffic, mirror_traffic, set_tags
from rollout.core.errors import UserError
from rollout.release.context import PROVISION_LOCK_SECONDS, ReleaseContext, split_of
from rollout.release.history import DONE, TAG_HISTORY
from rollout.release.lock import release_lock
from rollout.release.results import RetireResult
from rollout.release.roles import RELEASE_TAGS


def retire(ctx: ReleaseContext, force_lock: bool) -> RetireResult:
    """Delete the drained old deployment and close the release."""
    with release_lock(ctx.conn.ml, ctx.endpoint_name, PROVISION_LOCK_SECONDS, force=force_lock):
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
