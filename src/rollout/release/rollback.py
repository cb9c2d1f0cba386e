"""Rollback: all traffic back to the deployment that was live before the release, mirror off, the
release's stage cleared and its record on the endpoint (moved there when it was still on the
candidate, opened again when the last stage had closed it); with `delete`, the candidate deleted
and the release closed. With
`force_lock` it takes the lock over from a stage that is baking, which then stops writing: the
rollback waits until whatever the stage had sent has landed, then applies its split until it reads
it back (`rollout.release.takeover`).

A release workflow's safety net rolls back only its own run's release: `not_this_runs` says why a
re-run of an old run's safety net must change nothing."""

from __future__ import annotations

from rollout.azureml.deployments import delete_deployment
from rollout.azureml.endpoints import set_tags
from rollout.core.errors import UserError
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import DONE, TAG_HISTORY
from rollout.release.results import RollbackResult
from rollout.release.roles import RELEASE_TAGS, TAG_VERDICT


def rollback(ctx: ReleaseContext, delete: bool, force_lock: bool) -> RollbackResult:
    """All traffic back to the deployment that was live before the release; mirror off. Also after
    the last stage closed the release, while its old deployment is kept (it is opened again)."""
    with ctx.lock("the rollback", force=force_lock) as held:
        roles = ctx.roles().reopened()
        candidate = roles.candidate
        if candidate is None:
            raise UserError("no release in progress: nothing to roll back")
        before = split_of(ctx.endpoint())
        ctx.restore_until_read_back(roles.live, held)
        tags: dict[str, str | None] = {
            **roles.record_tags(),
            TAG_VERDICT: "rolled back",
            TAG_HISTORY: ctx.history_tag("rollback", DONE, "0", roles),
        }
        if delete:
            ctx.say(f"deleting candidate {candidate}")
            delete_deployment(ctx.conn.ml, candidate, ctx.endpoint_name)
            tags.update(dict.fromkeys(RELEASE_TAGS))
        after = set_tags(ctx.conn.ml, ctx.endpoint_name, tags)
        ctx.record(
            "rollback",
            "rollback",
            DONE,
            roles,
            share="0",
            before=before,
            after=split_of(after),
            rolled_back=True,
        )
    return RollbackResult(roles.live, candidate, delete)


def not_this_runs(ctx: ReleaseContext, run: str) -> str | None:
    """Why the safety net of GitHub run `run` must change nothing (None: it is that run's to roll
    back): the release in progress was deployed by another run (or none), or another run holds
    the release lock. A re-run keeps its run's id, so an old run re-run finds a newer run's release."""
    roles = ctx.roles()  # a release its last stage closed is not the safety net's to reopen
    if roles.candidate is None:
        return f"no release in progress: the safety net of run {run} has nothing to roll back"
    deployed_by = roles.run
    if deployed_by != run:
        who = f"run {deployed_by}" if deployed_by else "no GitHub run"
        return (
            f"the release in progress ({roles.model} into {roles.candidate}) was deployed by {who}, not by"
            f" run {run}: its safety net changes nothing"
        )
    holder = ctx.lock_holder()
    if holder is not None and holder.run != run:
        return f"the release lock is held by {holder.name}, not by run {run}: its safety net changes nothing"
    return None
