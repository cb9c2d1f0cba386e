"""The release steps: deploy into the idle slot, promote stage by stage, roll back, retire.

Each step reads the endpoint first and works out what is left to do, so every step is safe to
re-run after a failure; each change is confirmed by reading the endpoint again.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rollout import traffic
from rollout.analysis import Verdict
from rollout.bake import BakeProgress, bake
from rollout.errors import UserError
from rollout.lock import release_lock
from rollout.roles import (
    RELEASE_TAGS,
    TAG_CANDIDATE,
    TAG_LIVE,
    TAG_MODEL,
    TAG_STAGE,
    TAG_VERDICT,
    Roles,
    idle_slot,
    model_of,
    read_roles,
)
from rollout.samples import SampleSet

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

    from rollout.connection import Connection
    from rollout.specs import Project, Stage

EXIT_FAIL = 1
EXIT_INCONCLUSIVE = 3
LOCK_MARGIN_SECONDS = 600
PROVISION_LOCK_SECONDS = 3600  # provisioning on Azure can take a while
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class StageResult:
    stage: str
    split: dict[str, int]
    verdict: Verdict
    rolled_back: bool


class Release:
    """The release of a project's pinned model to its endpoint, over one connection."""

    def __init__(self, connection: Connection, project: Project, progress: Progress = _quiet) -> None:
        self.conn = connection
        self.project = project
        self.endpoint_name: str = project.endpoint.name
        self.slots: list[str] = list(project.deployments)
        self.say = progress

    # -- reading -------------------------------------------------------------------------------

    def endpoint(self) -> OnlineEndpoint:
        return traffic.get_endpoint(self.conn.ml, self.endpoint_name)

    def deployments(self) -> dict[str, OnlineDeployment]:
        return {d.name: d for d in self.conn.ml.online_deployments.list(self.endpoint_name)}

    def roles(self, endpoint: OnlineEndpoint | None = None) -> Roles:
        return read_roles(endpoint or self.endpoint(), set(self.deployments()))

    def apply_endpoint(self) -> OnlineEndpoint:
        return apply_endpoint(self.conn.ml, self.project.endpoint, self.say)

    # -- deploy --------------------------------------------------------------------------------

    def deploy(self, version: int | None = None, force_lock: bool = False) -> dict[str, Any]:
        """Deploy the pinned model into the idle slot at 0% traffic; a no-op when already there."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.conn.ml.online_endpoints.get(self.endpoint_name)
        except ResourceNotFoundError:
            self.apply_endpoint()  # create it: the lock lives on the endpoint
        with release_lock(self.conn.ml, self.endpoint_name, PROVISION_LOCK_SECONDS, force=force_lock):
            self.apply_endpoint()
            return self._deploy(version)

    def _deploy(self, version: int | None) -> dict[str, Any]:
        plan = self.project.plan
        model = f"{plan.model.name}:{version or plan.model.version}"
        endpoint = self.endpoint()
        deployments = self.deployments()
        roles = read_roles(endpoint, set(deployments))
        live_now = traffic.live_traffic(endpoint)
        if roles.in_progress:
            slot, live_before = roles.candidate, roles.live
            share = live_now.get(slot, 0)
            if share and roles.model == model:
                self.say(f"{model} is already deployed in {slot}, which takes {share}% of traffic")
                return {"live": live_before, "candidate": slot, "model": model}
            if share:
                raise UserError(
                    f"the release of {roles.model} into {slot} is under way ({slot} has {share}% of traffic, "
                    f"last stage passed: {roles.stage or 'none'}); finish it with `rollout retire` or "
                    "`rollout rollback` before releasing another version"
                )
        else:
            live_before = roles.live
            if live_before in deployments and model_of(deployments[live_before]) == model:
                self.say(f"{model} is already live in {live_before}: nothing to release")
                return {"live": live_before, "candidate": None, "model": model}
            slot = idle_slot(self.slots, live_before)
            if live_now.get(slot) or traffic.mirror_traffic(endpoint).get(slot):
                raise UserError(
                    f"slot {slot} still takes traffic ({live_now}); give one slot all traffic first"
                )
        existing = deployments.get(slot)
        if (
            existing
            and model_of(existing) == model
            and state_name(existing.provisioning_state) == "Succeeded"
        ):
            self.say(f"{model} is already deployed in {slot}")
        else:
            self._create_deployment(slot, model, existing)
        traffic.set_tags(
            self.conn.ml,
            self.endpoint_name,
            {
                TAG_LIVE: live_before or "",
                TAG_CANDIDATE: slot,
                TAG_MODEL: model,
                TAG_STAGE: None,
                TAG_VERDICT: None,
            },
        )
        after = self.endpoint()
        if traffic.live_traffic(after).get(slot):
            raise UserError(f"{slot} was expected at 0% traffic after deploy but has {after.traffic[slot]}%")
        return {"live": live_before, "candidate": slot, "model": model}

    def _create_deployment(self, slot: str, model: str, existing: OnlineDeployment | None) -> None:
        spec = self.project.deployments[slot]
        spec.model = "azureml:" + model
        spec.endpoint_name = self.endpoint_name
        self.say(f"deploying {model} into {slot} at 0% traffic")
        provision_deployment(self.conn.ml, spec, self.say, existing)

    def _state(self, slot: str) -> str:
        return deployment_state(self.conn.ml, slot, self.endpoint_name)

    # -- promote -------------------------------------------------------------------------------

    def promote(
        self,
        stage_name: str,
        *,
        bake_seconds: float | None = None,
        probe_rps: float = 0.0,
        force_lock: bool = False,
        on_bake: Callable[[BakeProgress], None] | None = None,
    ) -> StageResult:
        """Set the stage's split, bake it under analysis, and roll back when it fails."""
        stage = self.project.plan.stage(stage_name)
        seconds = stage.bake_seconds if bake_seconds is None else bake_seconds
        with release_lock(self.conn.ml, self.endpoint_name, seconds + LOCK_MARGIN_SECONDS, force=force_lock):
            roles = self._stage_may_start(stage.name)
            return self._run_stage(stage, roles, seconds, probe_rps, on_bake)

    def _stage_may_start(self, stage: str) -> Roles:
        """The roles, once the stage's preconditions hold (read under the lock)."""
        names = [s.name for s in self.project.plan.stages]
        roles = self.roles()
        if not roles.in_progress:
            raise UserError("no release in progress: run `rollout deploy` first")
        passed = names.index(roles.stage) if roles.stage in names else -1
        wanted = names.index(stage)
        if wanted > passed + 1:
            raise UserError(
                f"stage {stage} cannot start before stage {names[passed + 1]} has passed "
                f"(last passed: {roles.stage or 'none'})"
            )
        if wanted < passed:
            raise UserError(
                f"stage {stage} has passed already (last passed: {roles.stage}); bake that stage "
                f"again with `rollout promote --stage {roles.stage}`, or go back with `rollout rollback`"
            )
        state = self._state(roles.candidate)
        if state != "Succeeded":
            raise UserError(f"candidate {roles.candidate} is {state}, not Succeeded; deploy it again")
        return roles

    def _run_stage(
        self,
        stage: Stage,
        roles: Roles,
        seconds: float,
        probe_rps: float,
        on_bake: Callable[[BakeProgress], None] | None,
    ) -> StageResult:
        candidate, live = roles.candidate, roles.live
        samples = SampleSet.load(self.project.root / "samples")
        with self.conn.scoring(self.endpoint_name) as client:
            self._smoke(client, samples, candidate, stage.name, live)
            split = {candidate: stage.traffic, live: 100 - stage.traffic} if live else {candidate: 100}
            if not live:
                self.say("no live deployment: this first release gives the candidate all traffic")
            self.say(f"stage {stage.name}: traffic {_fmt(split)}")
            traffic.set_traffic(self.conn.ml, self.endpoint_name, split)
            verdict = bake(
                endpoint=self.endpoint_name,
                candidate=candidate,
                live=live,
                seconds=seconds,
                limits=self.project.plan.analysis,
                metrics=self.conn.metrics(self.endpoint_name),
                client=client,
                samples=samples,
                probe_rps=probe_rps,
                on_progress=on_bake,
            )
        rolled_back = verdict.outcome == "fail"
        if rolled_back:
            self.say(f"stage {stage.name} failed: rolling back to {live or 'no traffic'}")
            self._restore(live)
        tags: dict[str, str | None] = {TAG_VERDICT: f"{stage.name}: {verdict.outcome}"}
        if verdict.outcome == "pass":
            tags[TAG_STAGE] = stage.name
        elif rolled_back:
            tags[TAG_STAGE] = None
        traffic.set_tags(self.conn.ml, self.endpoint_name, tags)
        return StageResult(stage.name, split, verdict, rolled_back)

    def _smoke(self, client: Any, samples: SampleSet, candidate: str, stage: str, live: str | None) -> None:
        """Every sample, sent to the candidate by header, must score before traffic moves.

        A candidate that already takes traffic (a later stage) and fails here is rolled back.
        """
        for name, request in samples.requests.items():
            reply = client.score(request, deployment=candidate)
            if reply.ok:
                continue
            answer = (
                f"candidate {candidate} answered {reply.status} to samples/{name}: {reply.text[:200].strip()}"
            )
            if not traffic.live_traffic(self.endpoint()).get(candidate):
                raise UserError(f"{answer}; no traffic was moved")
            self._restore(live)
            traffic.set_tags(
                self.conn.ml, self.endpoint_name, {TAG_STAGE: None, TAG_VERDICT: f"{stage}: fail"}
            )
            raise UserError(f"{answer}; rolled back: all traffic to {live or 'none'}")

    def _restore(self, live: str | None) -> None:
        """All traffic to `live` (none when there is no live deployment), mirror off, in one PUT."""
        split = {live: 100} if live else {}

        def change(endpoint: OnlineEndpoint) -> None:
            endpoint.traffic = {name: split.get(name, 0) for name in endpoint.traffic or {}} | split
            endpoint.mirror_traffic = {}

        traffic.update_endpoint(
            self.conn.ml,
            self.endpoint_name,
            change,
            lambda e: traffic.live_traffic(e) == split and not traffic.mirror_traffic(e),
        )

    # -- rollback and retire -------------------------------------------------------------------

    def rollback(self, delete: bool = False, force_lock: bool = False) -> dict[str, Any]:
        """All traffic back to the deployment that was live before the release; mirror off."""
        with release_lock(self.conn.ml, self.endpoint_name, LOCK_MARGIN_SECONDS, force=force_lock):
            roles = self.roles()
            if not roles.in_progress:
                raise UserError("no release in progress: nothing to roll back")
            self._restore(roles.live)
            tags: dict[str, str | None] = {TAG_STAGE: None, TAG_VERDICT: "rolled back"}
            if delete:
                self.say(f"deleting candidate {roles.candidate}")
                with sdk_polling_muted():
                    self.conn.ml.online_deployments.begin_delete(roles.candidate, self.endpoint_name).result()
                tags.update(dict.fromkeys(RELEASE_TAGS))
            traffic.set_tags(self.conn.ml, self.endpoint_name, tags)
        return {"live": roles.live, "candidate": roles.candidate, "deleted": delete}

    def retire(self, force_lock: bool = False) -> dict[str, Any]:
        """Delete the drained old deployment and close the release."""
        with release_lock(self.conn.ml, self.endpoint_name, PROVISION_LOCK_SECONDS, force=force_lock):
            roles = self.roles()
            if not roles.in_progress:
                self.say("no release in progress: nothing to retire")
                return {"retired": None, "live": roles.live}
            endpoint = self.endpoint()
            share = traffic.live_traffic(endpoint).get(roles.candidate, 0)
            if share != 100:
                raise UserError(
                    f"candidate {roles.candidate} has {share}% of traffic; promote it to 100% first"
                )
            old = roles.live
            if old and old in self.deployments():
                if traffic.mirror_traffic(endpoint).get(old):
                    raise UserError(f"{old} still receives mirrored traffic; run `rollout mirror off` first")
                self.say(f"deleting {old}")
                with sdk_polling_muted():
                    self.conn.ml.online_deployments.begin_delete(old, self.endpoint_name).result()
            traffic.set_tags(self.conn.ml, self.endpoint_name, dict.fromkeys(RELEASE_TAGS))
        return {"retired": old, "live": roles.candidate}

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        endpoint = self.endpoint()
        deployments = self.deployments()
        roles = read_roles(endpoint, set(deployments))
        live_now, mirror = traffic.live_traffic(endpoint), traffic.mirror_traffic(endpoint)

        def role(name: str) -> str:
            if name == roles.candidate:
                return "candidate"
            if name == roles.live:
                return "live"
            return "idle"

        return {
            "endpoint": endpoint.name,
            "state": state_name(endpoint.provisioning_state),
            "scoring_uri": endpoint.scoring_uri,
            "traffic": live_now,
            "mirror_traffic": mirror,
            "live": roles.live,
            "candidate": roles.candidate,
            "release": roles.model,
            "stage": roles.stage,
            "verdict": (endpoint.tags or {}).get(TAG_VERDICT),
            "deployments": [
                {
                    "name": name,
                    "model": model_of(d),
                    "state": state_name(d.provisioning_state),
                    "instance_type": d.instance_type,
                    "instance_count": d.instance_count,
                    "traffic": live_now.get(name, 0),
                    "mirror": mirror.get(name, 0),
                    "role": role(name),
                }
                for name, d in sorted(deployments.items())
            ],
        }


def apply_endpoint(ml: MLClient, spec: OnlineEndpoint, say: Progress = _quiet) -> OnlineEndpoint:
    """Create the endpoint from its spec, or update it keeping traffic, mirror and release tags."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        current = ml.online_endpoints.get(spec.name)
    except ResourceNotFoundError:
        current = None
    if current is None:
        say(f"creating endpoint {spec.name}")
        try:
            return ml.online_endpoints.begin_create_or_update(spec).result()
        except HttpResponseError as exc:
            raise UserError(f"endpoint {spec.name}: {traffic.azure_message(exc)}") from exc
    if current.auth_mode and spec.auth_mode and current.auth_mode.lower() != spec.auth_mode.lower():
        raise UserError(
            f"endpoint {spec.name}: auth_mode is {current.auth_mode}; the spec's {spec.auth_mode} needs a new endpoint"
        )
    spec_tags = dict(spec.tags or {})

    def change(endpoint: OnlineEndpoint) -> None:
        kept = {k: v for k, v in (endpoint.tags or {}).items() if k.startswith("rollout.")}
        endpoint.tags = {**spec_tags, **kept}
        endpoint.description = spec.description

    return traffic.update_endpoint(
        ml, spec.name, change, lambda e: all((e.tags or {}).get(k) == v for k, v in spec_tags.items())
    )


@contextmanager
def sdk_polling_muted() -> Iterator[None]:
    """azure-ai-ml prints a dot to stdout per poll of a deployment; stdout is for our results."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def state_name(state: object) -> str:
    """`Succeeded` rather than `DeploymentProvisioningState.SUCCEEDED`."""
    return str(getattr(state, "value", state) or "Unknown")


def provision_deployment(
    ml: MLClient,
    spec: OnlineDeployment,
    say: Progress = _quiet,
    existing: OnlineDeployment | None = None,
    package_model: bool = False,
) -> OnlineDeployment:
    """Create or update a deployment, showing its state while it provisions; logs on failure."""
    from azure.core.exceptions import HttpResponseError

    name, endpoint = spec.name, spec.endpoint_name
    if (
        existing
        and existing.instance_type
        and spec.instance_type
        and existing.instance_type != spec.instance_type
    ):
        say(f"{name}: instance type changes {existing.instance_type} -> {spec.instance_type}; replacing it")
        with sdk_polling_muted():
            ml.online_deployments.begin_delete(name, endpoint).result()
    try:
        with sdk_polling_muted():
            poller = ml.online_deployments.begin_create_or_update(spec, package_model=package_model)
            began = time.monotonic()
            while not poller.done():
                poller.wait(2)
                say(f"{name}: {deployment_state(ml, name, endpoint)} ({time.monotonic() - began:.0f}s)")
            poller.result()
    except HttpResponseError as exc:
        _fail_with_logs(ml, name, endpoint, traffic.azure_message(exc), say)
    state = deployment_state(ml, name, endpoint)
    if state != "Succeeded":
        _fail_with_logs(ml, name, endpoint, f"provisioning ended {state}", say)
    return ml.online_deployments.get(name, endpoint)


def deployment_state(ml: MLClient, name: str, endpoint: str) -> str:
    try:
        return state_name(ml.online_deployments.get(name, endpoint).provisioning_state)
    except Exception:
        return "Unknown"


def _fail_with_logs(ml: MLClient, name: str, endpoint: str, reason: str, say: Progress) -> None:
    try:
        logs = ml.online_deployments.get_logs(name, endpoint, lines=50)
    except Exception as exc:
        logs = f"(logs unavailable: {traffic.azure_message(exc)})"
    say(f"--- last log lines of {name} ---\n{logs.rstrip()}\n---")
    raise UserError(f"deployment {name} failed: {reason}")


def _fmt(split: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in split.items())
