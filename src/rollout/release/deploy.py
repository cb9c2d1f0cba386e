"""Deploy: the pinned model (or another version) into the idle slot at 0% traffic, which starts a
release (the endpoint's tags name the candidate, the live deployment and the model). A no-op when
the model is deployed already or live already; refused while another release takes traffic."""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING

from rollout.azureml.deployments import provision_deployment
from rollout.azureml.endpoints import live_traffic, mirror_traffic, set_tags
from rollout.azureml.environment_packages import read_packages
from rollout.azureml.sdk import state_name
from rollout.core.errors import UserError
from rollout.release import history
from rollout.release.capacity import check_capacity
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import DONE, TAG_HISTORY
from rollout.release.results import DeployResult
from rollout.release.roles import (
    TAG_CANDIDATE,
    TAG_LIVE,
    TAG_MODEL,
    TAG_RUN,
    TAG_STAGE,
    TAG_VERDICT,
    Roles,
    idle_slot,
    model_of,
    read_roles,
)

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint


def deploy(ctx: ReleaseContext, version: int | None, force_lock: bool) -> DeployResult:
    """Deploy the pinned model (or `version`) into the idle slot at 0% traffic."""
    with ctx.lock("the deploy", force=force_lock):
        fresh = not ctx.exists()
        if fresh:  # the quota first: a refused deploy creates nothing, not even the endpoint
            check_capacity(ctx, idle_slot(ctx.slots, None), None)
        ctx.apply_endpoint()
        return _deploy(ctx, version, checked=fresh)


def _deploy(ctx: ReleaseContext, version: int | None, checked: bool = False) -> DeployResult:
    plan = ctx.project.plan
    model = f"{plan.model.name}:{version or plan.model.version}"
    endpoint = ctx.endpoint()
    deployments = ctx.deployments()
    result, slot = _destination(ctx, model, endpoint, deployments)
    if slot is None:
        return result
    existing = deployments.get(slot)
    if existing and model_of(existing) == model and state_name(existing.provisioning_state) == "Succeeded":
        ctx.say(f"{model} is already deployed in {slot}")
    else:
        if not checked:
            check_capacity(ctx, slot, existing)
        _create_deployment(ctx, slot, model, existing)
    _start(ctx, result, slot, endpoint)
    return result


def _destination(
    ctx: ReleaseContext, model: str, endpoint: OnlineEndpoint, deployments: dict[str, OnlineDeployment]
) -> tuple[DeployResult, str | None]:
    """The step's result and the slot to deploy `model` into: the candidate of the release under
    way, or the idle slot; None when `model` is there already."""
    roles = read_roles(endpoint, set(deployments))
    live_now = live_traffic(endpoint)
    if roles.candidate is not None:
        slot, live_before = roles.candidate, roles.live
        share = live_now.get(slot, 0)
        if share and roles.model == model:
            ctx.say(f"{model} is already deployed in {slot}, which takes {share}% of traffic")
            return DeployResult(live_before, slot, model), None
        if share:
            raise UserError(
                f"the release of {roles.model} into {slot} is under way ({slot} has {share}% of traffic, "
                f"last stage passed: {roles.stage or 'none'}); finish it with `rollout retire` or "
                "`rollout rollback` before releasing another version"
            )
        return DeployResult(live_before, slot, model), slot
    live_before = roles.live
    if live_before is not None and live_before in deployments and model_of(deployments[live_before]) == model:
        ctx.say(f"{model} is already live in {live_before}: nothing to release")
        return DeployResult(live_before, None, model), None
    slot = idle_slot(ctx.slots, live_before)
    if live_now.get(slot) or mirror_traffic(endpoint).get(slot):
        raise UserError(f"slot {slot} still takes traffic ({live_now}); give one slot all traffic first")
    return DeployResult(live_before, slot, model), slot


def _create_deployment(ctx: ReleaseContext, slot: str, model: str, existing: OnlineDeployment | None) -> None:
    # A copy: azure-ai-ml replaces a local code folder and an inline environment with the assets it
    # registers, and a later deploy of this slot must upload the folder as it is then.
    spec = copy.deepcopy(ctx.project.deployments[slot])
    spec.model = "azureml:" + model
    spec.endpoint_name = ctx.endpoint_name
    ctx.say(f"deploying {model} into {slot} at 0% traffic")
    provision_deployment(ctx.conn.ml, spec, ctx.say, existing)


def _start(ctx: ReleaseContext, result: DeployResult, slot: str, before: OnlineEndpoint) -> None:
    """Tag the endpoint with the release just deployed into `slot`, confirm `slot` takes no
    traffic, and record the step with the packages of `slot`'s environment (when its log lists
    them; a note says why when it does not)."""
    model, live_before = result.model, result.live
    ended = history.now()
    started_tag = history.tag_start(model, slot, live_before)
    set_tags(
        ctx.conn.ml,
        ctx.endpoint_name,
        {
            TAG_LIVE: live_before or "",
            TAG_CANDIDATE: slot,
            TAG_MODEL: model,
            TAG_RUN: os.environ.get("GITHUB_RUN_ID") or None,
            TAG_STAGE: None,
            TAG_VERDICT: None,
            TAG_HISTORY: history.tag_add(started_tag, "deploy", DONE, "0", ended),
        },
    )
    after = ctx.endpoint()
    if live_traffic(after).get(slot):
        raise UserError(f"{slot} was expected at 0% traffic after deploy but has {after.traffic[slot]}%")
    found = read_packages(ctx.conn.ml, slot, ctx.endpoint_name)
    packages = None if found.packages is None else list(found.packages)
    unknown = [] if found.unknown_because is None else [f"packages of {slot}: {found.unknown_because}"]
    ctx.record(
        "deploy",
        "deploy",
        DONE,
        Roles(live=live_before, candidate=slot, stage=None, model=model),
        ended,
        share="0",
        before=split_of(before),
        after=split_of(after),
        packages=packages,
        notes=unknown,
    )
    diff = history.package_diff(history.read(ctx.endpoint_name), live_before, slot)
    for line in unknown or [diff.summary()]:
        ctx.say(line)
