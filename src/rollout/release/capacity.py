"""Capacity before traffic: a deploy checks that the candidate's cores fit its VM family's free
quota and the region's free total of dedicated cores before it creates anything (Azure's
`OutOfQuota` is a common first failure: blue/green holds both slots at once, and Azure reserves
20% of each deployment's instances for upgrades).
A quota that cannot be read (a role without the subscription's `locations/usages/read`, a target
without the route) is a warning, never a stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout.azureml.vm_quota import Capacity, QuotaUnknown, read_capacity
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment

    from rollout.release.context import ReleaseContext


class OutOfCoreQuota(UserError):
    """The candidate's cores, with the upgrade reserve, do not fit its VM family's free quota or the
    region's free total of dedicated cores; one class for both, as Azure has one code for both
    (`OutOfQuota`), its line naming the limit that is short."""

    def __init__(self, slot: str, capacity: Capacity) -> None:
        short = capacity.short or capacity.family
        super().__init__(
            f"not enough quota to deploy {slot}: {capacity.needed(short, free=True)}; "
            f"request {short.increase} in the workspace's region, or choose a smaller instance_type or "
            f"fewer instances (instance_count) in {slot}'s spec"
        )
        self.capacity = capacity


def check_capacity(
    ctx: ReleaseContext, slot: str, existing: OnlineDeployment | None
) -> Capacity | QuotaUnknown:
    """The quota of `slot`'s spec (replacing `existing`, whose cores come back); OutOfCoreQuota
    when it does not fit, a warning when the quota cannot be read."""
    spec = ctx.project.deployments[slot]
    instance_type = str(spec.instance_type)
    replacing = (
        (str(existing.instance_type), int(existing.instance_count or 1))
        if existing is not None and existing.instance_type
        else None
    )
    reading = read_capacity(ctx.conn.ml, instance_type, int(spec.instance_count or 1), replacing)
    if isinstance(reading, QuotaUnknown):
        ctx.say(f"warning: cannot read the quota for {instance_type} ({reading.reason}); deploying unchecked")
        return reading
    if not reading.fits:
        raise OutOfCoreQuota(slot, reading)
    ctx.say(f"quota: {reading.summary()}")
    return reading
