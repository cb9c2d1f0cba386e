"""The release steps: deploy into the idle slot, promote stage by stage, roll back, retire.

Each step reads the endpoint first and works out what is left to do, so every step is safe to
re-run after a failure; each change is confirmed by reading the endpoint again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rollout.azureml.deployments import delete_deployment, deployment_state, provision_deployment
from rollout.azureml.endpoints import (
    apply_endpoint,
    endpoint_exists,
    get_endpoint,
    live_traffic,
    mirror_traffic,
    set_tags,
    set_traffic,
    update_endpoint,
)
from rollout.azureml.sdk import Progress, quiet, state_name
from rollout.core.errors import UserError
from rollout.project.layout import SAMPLES_DIR
from rollout.project.samples import SampleSet
from rollout.release import history
from rollout.release.analysis import Verdict
from rollout.release.bake import BakeProgress, bake
from rollout.release.history import DONE, TAG_HISTORY, Entry, Split, Timeline, release_id, share_of
from rollout.release.lock import Holder, ensure_held, keep_held, release_lock
from rollout.release.results import (
    DeploymentStatus,
    DeployResult,
    RetireResult,
    RollbackResult,
    StageResult,
    Status,
)
from rollout.release.roles import (
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
from rollout.release.shadow import SKIPPED, judged_on_copies, mirroring

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

    from rollout.azureml.connection import Connection
    from rollout.azureml.scoring import ScoringClient
    from rollout.project.specs import Project, Stage

EXIT_FAIL = 1
EXIT_INCONCLUSIVE = 3
EXIT_ERROR = 4  # the analysis could not be done (its metrics source failed); rolled back
LOCK_MARGIN_SECONDS = 600
LOCK_LEASE_SECONDS = 600  # a stage's lock expires this long after its last renewal
PROVISION_LOCK_SECONDS = 3600  # provisioning on Azure can take a while


class Release:
    """The release of a project's pinned model to its endpoint, over one connection."""

    lock_lease_seconds: float = LOCK_LEASE_SECONDS

    def __init__(self, connection: Connection, project: Project, progress: Progress = quiet) -> None:
        self.conn = connection
        self.project = project
        self.endpoint_name: str = project.endpoint_name
        self.slots: list[str] = list(project.deployments)
        self.say = progress

    # -- reading -------------------------------------------------------------------------------

    def endpoint(self) -> OnlineEndpoint:
        return get_endpoint(self.conn.ml, self.endpoint_name)

    def deployments(self) -> dict[str, OnlineDeployment]:
        return {d.name: d for d in self.conn.ml.online_deployments.list(self.endpoint_name)}

    def exists(self) -> bool:
        return endpoint_exists(self.conn.ml, self.endpoint_name)

    def roles(self, endpoint: OnlineEndpoint | None = None) -> Roles:
        return read_roles(endpoint or self.endpoint(), set(self.deployments()))

    def apply_endpoint(self) -> OnlineEndpoint:
        return apply_endpoint(self.conn.ml, self.project.endpoint, self.say)

    # -- deploy --------------------------------------------------------------------------------

    def deploy(self, version: int | None = None, force_lock: bool = False) -> DeployResult:
        """Deploy the pinned model into the idle slot at 0% traffic; a no-op when already there."""
        if not self.exists():
            self.apply_endpoint()  # create it: the lock lives on the endpoint
        with release_lock(self.conn.ml, self.endpoint_name, PROVISION_LOCK_SECONDS, force=force_lock):
            self.apply_endpoint()
            return self._deploy(version)

    def _deploy(self, version: int | None) -> DeployResult:
        plan = self.project.plan
        model = f"{plan.model.name}:{version or plan.model.version}"
        endpoint = self.endpoint()
        deployments = self.deployments()
        roles = read_roles(endpoint, set(deployments))
        live_now = live_traffic(endpoint)
        if roles.candidate is not None:
            slot, live_before = roles.candidate, roles.live
            share = live_now.get(slot, 0)
            if share and roles.model == model:
                self.say(f"{model} is already deployed in {slot}, which takes {share}% of traffic")
                return DeployResult(live_before, slot, model)
            if share:
                raise UserError(
                    f"the release of {roles.model} into {slot} is under way ({slot} has {share}% of traffic, "
                    f"last stage passed: {roles.stage or 'none'}); finish it with `rollout retire` or "
                    "`rollout rollback` before releasing another version"
                )
        else:
            live_before = roles.live
            if (
                live_before is not None
                and live_before in deployments
                and model_of(deployments[live_before]) == model
            ):
                self.say(f"{model} is already live in {live_before}: nothing to release")
                return DeployResult(live_before, None, model)
            slot = idle_slot(self.slots, live_before)
            if live_now.get(slot) or mirror_traffic(endpoint).get(slot):
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
        ended = history.now()
        started_tag = history.tag_start(model, slot, live_before)
        set_tags(
            self.conn.ml,
            self.endpoint_name,
            {
                TAG_LIVE: live_before or "",
                TAG_CANDIDATE: slot,
                TAG_MODEL: model,
                TAG_STAGE: None,
                TAG_VERDICT: None,
                TAG_HISTORY: history.tag_add(started_tag, "deploy", DONE, "0", ended),
            },
        )
        after = self.endpoint()
        if live_traffic(after).get(slot):
            raise UserError(f"{slot} was expected at 0% traffic after deploy but has {after.traffic[slot]}%")
        self._record(
            "deploy",
            "deploy",
            DONE,
            model,
            slot,
            live_before,
            ended,
            share="0",
            before=_split(endpoint),
            after=_split(after),
        )
        return DeployResult(live_before, slot, model)

    def _create_deployment(self, slot: str, model: str, existing: OnlineDeployment | None) -> None:
        spec = self.project.deployments[slot]
        spec.model = "azureml:" + model
        spec.endpoint_name = self.endpoint_name
        self.say(f"deploying {model} into {slot} at 0% traffic")
        provision_deployment(self.conn.ml, spec, self.say, existing)

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
        with release_lock(self.conn.ml, self.endpoint_name, self.lock_lease_seconds, force=force_lock) as me:
            candidate, live = self._stage_may_start(stage.name)
            started, before = history.now(), _split(self.endpoint())
            timeline = Timeline(seconds)

            def recorded(progress: BakeProgress) -> None:
                timeline.add(progress.elapsed, progress.candidate, progress.live)
                if on_bake:
                    on_bake(progress)

            result = self._run_stage(stage, candidate, live, seconds, probe_rps, recorded, me)
            after = self.endpoint()
            verdict = result.verdict
            self._record(
                "stage",
                stage.name,
                verdict.outcome,
                (after.tags or {}).get(TAG_MODEL),
                candidate,
                live,
                history.now(),
                share=share_of(candidate, Split(result.split, result.mirror)),
                started=started,
                before=before,
                after=_split(after),
                rolled_back=result.rolled_back,
                reasons=verdict.reasons,
                notes=verdict.notes,
                numbers=verdict.numbers,
                limits=self.project.plan.analysis.model_dump(),
                timeline=timeline.points,
            )
            return result

    def _stage_may_start(self, stage: str) -> tuple[str, str | None]:
        """The candidate and the live deployment, once the stage's preconditions hold (read under
        the lock)."""
        names = [s.name for s in self.project.plan.stages]
        roles = self.roles()
        candidate = roles.candidate
        if candidate is None:
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
        state = deployment_state(self.conn.ml, candidate, self.endpoint_name)
        if state != "Succeeded":
            raise UserError(f"candidate {candidate} is {state}, not Succeeded; deploy it again")
        return candidate, roles.live

    def _run_stage(
        self,
        stage: Stage,
        candidate: str,
        live: str | None,
        seconds: float,
        probe_rps: float,
        on_bake: Callable[[BakeProgress], None] | None,
        me: Holder,
    ) -> StageResult:
        """Smoke, split, bake, then write the verdict: unless the lock was taken over meanwhile
        (a rollback wins), in which case nothing more is written and LockLost is raised. The lock
        is checked before every change and renewed while the stage bakes."""
        samples = SampleSet.load(self.project.root / SAMPLES_DIR)
        doing = f"stage {stage.name}"

        def still_mine() -> None:
            nonlocal me
            me = keep_held(self.conn.ml, self.endpoint_name, me, self.lock_lease_seconds, doing)

        if stage.is_shadow:
            return self._run_shadow_stage(
                stage, candidate, live, samples, seconds, probe_rps, on_bake, still_mine, me
            )
        with self.conn.scoring(self.endpoint_name) as client:
            self._smoke(client, samples, candidate, stage.name, live, me)
            traffic = stage.traffic or 100
            split = {candidate: traffic, live: 100 - traffic} if live else {candidate: 100}
            metrics = self.conn.metrics(self.endpoint_name)
            if not live:
                self.say("no live deployment: this first release gives the candidate all traffic")
            self.say(f"stage {stage.name}: traffic {_fmt(split)}")
            still_mine()
            set_traffic(self.conn.ml, self.endpoint_name, split)
            verdict = bake(
                endpoint=self.endpoint_name,
                candidate=candidate,
                live=live,
                seconds=seconds,
                limits=self.project.plan.analysis,
                metrics=metrics,
                client=client,
                samples=samples,
                output=self.project.plan.output_contract,
                probe_rps=probe_rps,
                on_progress=on_bake,
                still_allowed=still_mine,
            )
        still_mine()
        rolled_back = verdict.outcome in ("fail", "error")
        if rolled_back:
            what = "failed" if verdict.outcome == "fail" else "could not be judged"
            self.say(f"stage {stage.name} {what}: rolling back to {live or 'no traffic'}")
            self._restore(live, me, doing)
        tags: dict[str, str | None] = {
            TAG_VERDICT: f"{stage.name}: {verdict.outcome}",
            TAG_HISTORY: self._history_tag(stage.name, verdict.outcome, share_of(candidate, Split(split))),
        }
        if verdict.outcome == "pass":
            tags[TAG_STAGE] = stage.name
        elif rolled_back:
            tags[TAG_STAGE] = None
        set_tags(self.conn.ml, self.endpoint_name, tags)
        return StageResult(stage.name, split, verdict, rolled_back)

    def _run_shadow_stage(
        self,
        stage: Stage,
        candidate: str,
        live: str | None,
        samples: SampleSet,
        seconds: float,
        probe_rps: float,
        on_bake: Callable[[BakeProgress], None] | None,
        still_mine: Callable[[], None],
        me: Holder,
    ) -> StageResult:
        """Smoke, mirror, bake, mirror off (always), then write the verdict (`rollout.release.shadow`)."""
        if live is None:
            self.say(
                f"stage {stage.name}: no live deployment to mirror requests from (a first release): skipped"
            )
            still_mine()
            set_tags(
                self.conn.ml,
                self.endpoint_name,
                {
                    TAG_STAGE: stage.name,
                    TAG_VERDICT: f"{stage.name}: skipped",
                    TAG_HISTORY: self._history_tag(stage.name, "skipped", "0"),
                },
            )
            return StageResult(stage.name, {}, Verdict("pass", [SKIPPED]), rolled_back=False)
        share = live_traffic(self.endpoint()).get(candidate)
        if share:
            raise UserError(
                f"candidate {candidate} takes {share}% of live traffic and Azure mirrors only to a deployment "
                f"without it: stage {stage.name} cannot run again now (go on with the next stage, or "
                "`rollout rollback` first)"
            )
        mirror = {candidate: stage.mirror or 0}
        with self.conn.scoring(self.endpoint_name) as client:
            self._smoke(client, samples, candidate, stage.name, live, me)
            metrics = self.conn.metrics(self.endpoint_name)
            still_mine()
            self.say(f"stage {stage.name}: mirror {_fmt(mirror)} (traffic stays {live}=100)")
            with mirroring(self.conn.ml, self.endpoint_name, mirror, self.say):
                verdict = bake(
                    endpoint=self.endpoint_name,
                    candidate=candidate,
                    live=live,
                    seconds=seconds,
                    limits=self.project.plan.analysis,
                    metrics=metrics,
                    client=client,
                    samples=samples,
                    output=self.project.plan.output_contract,
                    probe_rps=probe_rps,
                    mirrored=True,
                    on_progress=on_bake,
                    still_allowed=still_mine,
                )
        still_mine()
        verdict.notes.append(judged_on_copies(candidate, mirror[candidate], live))
        if verdict.outcome == "fail":
            self.say(f"stage {stage.name} failed: no live traffic had moved; mirroring is off")
        tags: dict[str, str | None] = {
            TAG_VERDICT: f"{stage.name}: {verdict.outcome}",
            TAG_HISTORY: self._history_tag(
                stage.name, verdict.outcome, share_of(candidate, Split({}, mirror))
            ),
        }
        if verdict.outcome != "inconclusive":
            tags[TAG_STAGE] = stage.name if verdict.outcome == "pass" else None
        set_tags(self.conn.ml, self.endpoint_name, tags)
        return StageResult(stage.name, {live: 100}, verdict, rolled_back=False, mirror=mirror)

    def _smoke(
        self,
        client: ScoringClient,
        samples: SampleSet,
        candidate: str,
        stage: str,
        live: str | None,
        me: Holder,
    ) -> None:
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
            if not live_traffic(self.endpoint()).get(candidate):
                raise UserError(f"{answer}; no traffic was moved")
            self._restore(live, me, f"stage {stage}")
            set_tags(self.conn.ml, self.endpoint_name, {TAG_STAGE: None, TAG_VERDICT: f"{stage}: fail"})
            raise UserError(f"{answer}; rolled back: all traffic to {live or 'none'}")

    def _restore(self, live: str | None, me: Holder, doing: str) -> None:
        """All traffic to `live` (none when there is no live deployment), mirror off, in one PUT,
        if `me` still holds the lock."""
        ensure_held(self.conn.ml, self.endpoint_name, me, doing)
        split = {live: 100} if live else {}

        def change(endpoint: OnlineEndpoint) -> None:
            endpoint.traffic = {name: split.get(name, 0) for name in endpoint.traffic or {}} | split
            endpoint.mirror_traffic = {}

        update_endpoint(
            self.conn.ml,
            self.endpoint_name,
            change,
            lambda e: live_traffic(e) == split and not mirror_traffic(e),
        )

    # -- rollback and retire -------------------------------------------------------------------

    def rollback(self, delete: bool = False, force_lock: bool = False) -> RollbackResult:
        """All traffic back to the deployment that was live before the release; mirror off."""
        with release_lock(self.conn.ml, self.endpoint_name, LOCK_MARGIN_SECONDS, force=force_lock) as me:
            roles = self.roles()
            candidate = roles.candidate
            if candidate is None:
                raise UserError("no release in progress: nothing to roll back")
            before = _split(self.endpoint())
            self._restore(roles.live, me, "the rollback")
            tags: dict[str, str | None] = {
                TAG_STAGE: None,
                TAG_VERDICT: "rolled back",
                TAG_HISTORY: self._history_tag("rollback", DONE, "0"),
            }
            if delete:
                self.say(f"deleting candidate {candidate}")
                delete_deployment(self.conn.ml, candidate, self.endpoint_name)
                tags.update(dict.fromkeys(RELEASE_TAGS))
            after = set_tags(self.conn.ml, self.endpoint_name, tags)
            self._record(
                "rollback",
                "rollback",
                DONE,
                roles.model,
                candidate,
                roles.live,
                history.now(),
                share="0",
                before=before,
                after=_split(after),
                rolled_back=True,
            )
        return RollbackResult(roles.live, candidate, delete)

    def retire(self, force_lock: bool = False) -> RetireResult:
        """Delete the drained old deployment and close the release."""
        with release_lock(self.conn.ml, self.endpoint_name, PROVISION_LOCK_SECONDS, force=force_lock):
            roles = self.roles()
            candidate = roles.candidate
            if candidate is None:
                self.say("no release in progress: nothing to retire")
                return RetireResult(None, roles.live)
            endpoint = self.endpoint()
            share = live_traffic(endpoint).get(candidate, 0)
            if share != 100:
                raise UserError(f"candidate {candidate} has {share}% of traffic; promote it to 100% first")
            old = roles.live
            if old and old in self.deployments():
                if mirror_traffic(endpoint).get(old):
                    raise UserError(f"{old} still receives mirrored traffic; run `rollout mirror off` first")
                self.say(f"deleting {old}")
                delete_deployment(self.conn.ml, old, self.endpoint_name)
            tags: dict[str, str | None] = dict.fromkeys(RELEASE_TAGS)
            tags[TAG_HISTORY] = self._history_tag("retire", DONE, "100")
            after = set_tags(self.conn.ml, self.endpoint_name, tags)
            self._record(
                "retire",
                "retire",
                DONE,
                roles.model,
                candidate,
                old,
                history.now(),
                share="100",
                before=_split(endpoint),
                after=_split(after),
            )
        return RetireResult(old, candidate)

    # -- history --------------------------------------------------------------------------------

    def _history_tag(self, step: str, outcome: str, share: str) -> str:
        """The endpoint's summary tag with this step added (see `rollout.release.history`)."""
        return history.tag_add(
            (self.endpoint().tags or {}).get(TAG_HISTORY), step, outcome, share, history.now()
        )

    def _record(
        self,
        step: str,
        name: str,
        outcome: str,
        model: str | None,
        candidate: str | None,
        live: str | None,
        ended: str,
        **details: Any,
    ) -> None:
        """Add the step to the endpoint's history file, with who ran it."""
        history.append(
            Entry(
                release=release_id(model, candidate),
                endpoint=self.endpoint_name,
                step=step,
                name=name,
                outcome=outcome,
                ended=ended,
                candidate=candidate,
                live=live,
                actor=history.who(),
                run_url=history.run_url(),
                **details,
            )
        )

    # -- status --------------------------------------------------------------------------------

    def status(self) -> Status:
        endpoint = self.endpoint()
        deployments = self.deployments()
        roles = read_roles(endpoint, set(deployments))
        live_now, mirror = live_traffic(endpoint), mirror_traffic(endpoint)

        def role(name: str) -> str:
            if name == roles.candidate:
                return "candidate"
            if name == roles.live:
                return "live"
            return "idle"

        return Status(
            endpoint=endpoint.name or self.endpoint_name,
            state=state_name(endpoint.provisioning_state),
            scoring_uri=endpoint.scoring_uri,
            traffic=live_now,
            mirror_traffic=mirror,
            live=roles.live,
            candidate=roles.candidate,
            release=roles.model,
            stage=roles.stage,
            verdict=(endpoint.tags or {}).get(TAG_VERDICT),
            deployments=[
                DeploymentStatus(
                    name=name,
                    model=model_of(d),
                    state=state_name(d.provisioning_state),
                    instance_type=d.instance_type,
                    instance_count=d.instance_count,
                    traffic=live_now.get(name, 0),
                    mirror=mirror.get(name, 0),
                    role=role(name),
                )
                for name, d in sorted(deployments.items())
            ],
        )


def _split(endpoint: OnlineEndpoint) -> Split:
    return Split(live_traffic(endpoint), mirror_traffic(endpoint))


def _fmt(split: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in split.items())
