"""Rollback: all traffic back to the deployment that was live before the release, mirror off, the
release's stage cleared; with `delete`, the candidate deleted and the release closed. With
`force_lock` it takes the lock over from a stage that is baking, which then stops writing: the
rollback waits until whatever the stage had sent has landed, then applies its split until it reads
it back (`rollout.release.takeover`)."""

from __future__ import annotations

from rollout.azureml.deployments import delete_deployment
from rollout.azureml.endpoints import set_tags
from rollout.core.errors import UserError
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import DONE, TAG_HISTORY
from rollout.release.results import RollbackResult
from rollout.release.roles import RELEASE_TAGS, TAG_STAGE, TAG_VERDICT


def rollback(ctx: ReleaseContext, delete: bool, force_lock: bool) -> RollbackResult:
    """All traffic back to the deployment that was live before the release; mirror off."""
    with ctx.lock("the rollback", force=force_lock) as held:
        roles = ctx.roles()
        candidate = roles.candidate
        if candidate is None:
            raise UserError("no release in progress: nothing to roll back")
        before = split_of(ctx.endpoint())
        ctx.restore_until_read_back(roles.live, held)
        tags: dict[str, str | None] = {
            TAG_STAGE: None,
            TAG_VERDICT: "rolled back",
            TAG_HISTORY: ctx.history_tag("rollback", DONE, "0"),
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
