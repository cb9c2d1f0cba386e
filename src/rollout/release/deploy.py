"""Deploy: the pinned model (or another version) into the idle slot at 0% traffic, which starts a
release: its record (the candidate, the live deployment, the model, the run) goes on the candidate
deployment's own tags, in the same deployments write, so deploy never writes the endpoint once it
exists (`rollout.release.roles`). A no-op when the model is deployed already or live already;
refused while another release takes traffic, or while the last release's old deployment is kept
for a rollback."""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING

from rollout.azureml.deployments import provision_deployment
from rollout.azureml.endpoints import live_traffic, mirror_traffic
from rollout.azureml.environment_packages import read_packages
from rollout.azureml.sdk import state_name
from rollout.core.errors import UserError
from rollout.project.layout import PLAN_FILE
from rollout.release import history
from rollout.release.capacity import check_capacity
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import DONE
from rollout.release.results import DeployResult
from rollout.release.roles import Roles, deployment_record, idle_slot, model_of, new_release_id, read_roles

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint


class EndpointMissing(UserError):
    """`rollout deploy --deployments-only` found no endpoint: creating one is an endpoint write."""


def deploy(
    ctx: ReleaseContext, version: int | None, force_lock: bool, deployments_only: bool = False
) -> DeployResult:
    """Deploy the pinned model (or `version`) into the idle slot at 0% traffic; first create or
    update the endpoint from its spec, unless `deployments_only` (then it must exist)."""
    if deployments_only and not ctx.exists():
        raise EndpointMissing(
            f"endpoint {ctx.endpoint_name} does not exist, and this deploy writes deployments only: create"
            f" it once with `rollout endpoint apply -f {_spec_path(ctx)}` as an identity that may write"
            " endpoints (see docs/github-roles.md)"
        )
    with ctx.lock("the deploy", force=force_lock):
        fresh = not ctx.exists()
        if fresh:  # the quota first: a refused deploy creates nothing, not even the endpoint
            check_capacity(ctx, idle_slot(ctx.slots, None), None)
        if not deployments_only:
            ctx.apply_endpoint()
        return _deploy(ctx, version, checked=fresh)


def _spec_path(ctx: ReleaseContext) -> str:
    """The endpoint spec's path, relative to the project root where it is inside it."""
    root = ctx.project.root.resolve()
    spec = (root / PLAN_FILE).parent.joinpath(ctx.project.plan.endpoint).resolve()
    return spec.relative_to(root).as_posix() if spec.is_relative_to(root) else str(spec)


def _deploy(ctx: ReleaseContext, version: int | None, checked: bool = False) -> DeployResult:
    plan = ctx.project.plan
    model = f"{plan.model.name}:{version or plan.model.version}"
    endpoint = ctx.endpoint()
    deployments = ctx.deployments()
    result, slot = _destination(ctx, model, endpoint, deployments)
    if slot is None:
        return result
    existing = deployments.get(slot)
    roles = read_roles(endpoint, deployments)
    if roles.candidate == slot and roles.model == model and not roles.on_endpoint and _ready(existing):
        ctx.say(f"{model} is already deployed in {slot}")  # by a deploy that opened this release
        _start(ctx, result, slot, endpoint)
        return result
    record = Roles(
        live=result.live,
        candidate=slot,
        stage=None,
        model=model,
        run=os.environ.get("GITHUB_RUN_ID") or None,
        history=history.tag_add(
            history.tag_start(model, slot, result.live), "deploy", DONE, "0", history.now()
        ),
        release=new_release_id(),
        on_endpoint=False,
    )
    if existing and model_of(existing) == model and _ready(existing):
        ctx.say(f"{model} is already deployed in {slot}: recording the release on it")
    else:
        if not checked:
            check_capacity(ctx, slot, existing)
        ctx.say(f"deploying {model} into {slot} at 0% traffic")
    _write_deployment(ctx, slot, model, existing, deployment_record(record))
    _start(ctx, result, slot, endpoint)
    return result


def _ready(deployment: OnlineDeployment | None) -> bool:
    return deployment is not None and state_name(deployment.provisioning_state) == "Succeeded"


def _destination(
    ctx: ReleaseContext, model: str, endpoint: OnlineEndpoint, deployments: dict[str, OnlineDeployment]
) -> tuple[DeployResult, str | None]:
    """The step's result and the slot to deploy `model` into: the candidate of the release under
    way, or the idle slot; None when `model` is there already."""
    roles = read_roles(endpoint, deployments)
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
        if roles.drained is not None:  # its release was closed by its last stage, not yet retired
            ctx.say(
                f"{model} is released in {live_before}; {roles.drained} is kept at 0% until `rollout retire`"
            )
            return DeployResult(roles.drained, live_before, model), None
        ctx.say(f"{model} is already live in {live_before}: nothing to release")
        return DeployResult(live_before, None, model), None
    if roles.drained is not None:
        raise UserError(
            f"the last release's old deployment {roles.drained} is kept at 0% for a rollback; retire it"
            " (`rollout retire`) or roll back (`rollout rollback`) before releasing another version"
        )
    slot = idle_slot(ctx.slots, live_before)
    if live_now.get(slot) or mirror_traffic(endpoint).get(slot):
        raise UserError(f"slot {slot} still takes traffic ({live_now}); give one slot all traffic first")
    return DeployResult(live_before, slot, model), slot


def _write_deployment(
    ctx: ReleaseContext, slot: str, model: str, existing: OnlineDeployment | None, record: dict[str, str]
) -> None:
    """Create or update `slot` from its spec with `model`, the release's record in its tags."""
    # A copy: azure-ai-ml replaces a local code folder and an inline environment with the assets it
    # registers, and a later deploy of this slot must upload the folder as it is then.
    spec = copy.deepcopy(ctx.project.deployments[slot])
    spec.model = "azureml:" + model
    spec.endpoint_name = ctx.endpoint_name
    spec.tags = {**(spec.tags or {}), **record}
    provision_deployment(ctx.conn.ml, spec, ctx.say, existing)


def _start(ctx: ReleaseContext, result: DeployResult, slot: str, before: OnlineEndpoint) -> None:
    """Confirm `slot` takes no traffic, and record the step with the packages of `slot`'s
    environment (when its log lists them; a note says why when it does not)."""
    model, live_before = result.model, result.live
    ended = history.now()
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
