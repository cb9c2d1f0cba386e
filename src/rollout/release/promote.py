"""Promote: run one stage of the plan under the release lock and record it in the history.

A stage smokes the candidate, sets its split, bakes under analysis and writes the verdict. A
traffic stage gives the candidate its share of live traffic and rolls back when it fails; a shadow
stage mirrors copies of live requests to the candidate instead, judges it on those, and has nothing
to roll back (`rollout.release.shadow`). One runner serves both; they differ in how the split is
set and what follows the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rollout.azureml.deployments import deployment_state
from rollout.azureml.endpoints import live_traffic, set_tags, set_traffic
from rollout.core.errors import UserError
from rollout.project.layout import SAMPLES_DIR
from rollout.project.samples import SampleSet
from rollout.release import history
from rollout.release.analysis import Verdict
from rollout.release.bake import BakeProgress, BakeRequest, bake, probe_in_flight
from rollout.release.context import ReleaseContext, split_of
from rollout.release.history import GATE_NONE, TAG_HISTORY, Approval, Split, Timeline, share_of
from rollout.release.lock import HeldLock
from rollout.release.results import StageResult
from rollout.release.roles import TAG_STAGE, TAG_VERDICT, Roles, closing_tags
from rollout.release.shadow import SKIPPED, judged_on_copies, mirroring

if TYPE_CHECKING:
    from rollout.azureml.metrics_sources import MetricsSource
    from rollout.azureml.scoring import ScoringClient
    from rollout.project.specs import Stage

EXIT_FAIL = 1
EXIT_INCONCLUSIVE = 3
EXIT_ERROR = 4  # the analysis could not be done (its metrics source failed); rolled back


class SmokeFailed(UserError):
    """A sample the candidate did not answer before the stage moved traffic (the stage failed)."""

    def __init__(self, message: str, answer: str, rolled_back: bool) -> None:
        super().__init__(message)
        self.answer, self.rolled_back = answer, rolled_back


@dataclass(frozen=True)
class StageOptions:
    """How a stage is run: its bake time (None: the plan's; with `plan_bake_minimum` it may
    lengthen the plan's, not shorten it), the probe load, whether to take the lock over, who is
    told of the bake's progress, and how its gate was passed (None: by hand)."""

    bake_seconds: float | None = None
    probe_rps: float = 0.0
    force_lock: bool = False
    on_bake: Callable[[BakeProgress], None] | None = None
    plan_bake_minimum: bool = False
    approval: Approval | None = None


def bake_seconds_of(planned: float, asked: float | None, plan_bake_minimum: bool) -> float:
    """The bake a stage runs: the plan's, or the one asked for; with `plan_bake_minimum` (a
    release workflow's traffic stage, where the ask comes from a repository variable no one
    reviews) never shorter than the plan's."""
    if asked is None:
        return planned
    return max(planned, asked) if plan_bake_minimum else asked


def promote(ctx: ReleaseContext, stage_name: str, options: StageOptions) -> StageResult:
    """Set the stage's split, bake it under analysis, and roll back when it fails."""
    stage = ctx.project.plan.stage(stage_name)
    seconds = bake_seconds_of(stage.bake_seconds, options.bake_seconds, options.plan_bake_minimum)
    if options.bake_seconds is not None and seconds > options.bake_seconds:
        ctx.say(
            f"stage {stage.name} bakes {seconds:g} s, the plan's bake: a shorter one "
            f"({options.bake_seconds:g} s) does not apply here, the plan's is the minimum"
        )
    with ctx.lock(f"stage {stage.name}", force=options.force_lock) as held:
        roles = _stage_may_start(ctx, stage.name)
        started, before = history.now(), split_of(ctx.endpoint())
        timeline = Timeline(seconds)

        def recorded(progress: BakeProgress) -> None:
            timeline.add(progress.elapsed, progress.candidate, progress.live)
            if options.on_bake:
                options.on_bake(progress)

        run = StageRun(ctx, stage, roles, held, seconds, options.probe_rps, recorded, options.approval)
        try:
            result = run_stage(run)
        except SmokeFailed as failed:
            smoked = StageResult(stage.name, {}, Verdict("fail", [failed.answer]), failed.rolled_back)
            _record(run, smoked, started, before, timeline)
            raise
        _record(run, result, started, before, timeline)
        return result


def _record(run: StageRun, result: StageResult, started: str, before: Split, timeline: Timeline) -> None:
    """The stage in the history file: its splits, verdict, the plan's thresholds, the timeline and
    how its gate was passed."""
    ctx, verdict = run.ctx, result.verdict
    approval = run.approval or Approval(GATE_NONE, environment=run.stage.environment)
    after = ctx.endpoint()
    ctx.record(
        "stage",
        run.stage.name,
        verdict.outcome,
        run.roles,
        share=_share(result, run.candidate),
        started=started,
        before=before,
        after=split_of(after),
        rolled_back=result.rolled_back,
        reasons=verdict.reasons,
        notes=verdict.notes,
        numbers=verdict.numbers,
        limits=_limits(ctx),
        timeline=timeline.points,
        approval=approval,
        approver=", ".join(approval.by) or None,
    )


def _limits(ctx: ReleaseContext) -> dict[str, float]:
    """The plan's analysis limits, and a number model's agreement tolerance."""
    plan = ctx.project.plan
    limits: dict[str, float] = plan.analysis.model_dump()
    contract = plan.output_contract
    if contract.kind == "numbers":
        tolerance = contract.agreement_tolerance
        limits |= {"tolerance_absolute": tolerance.absolute, "tolerance_relative": tolerance.relative}
    return limits


def _stage_may_start(ctx: ReleaseContext, stage: str) -> Roles:
    """The release, once the stage's preconditions hold (read under the lock)."""
    names = [s.name for s in ctx.project.plan.stages]
    roles = ctx.roles()
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
    state = deployment_state(ctx.conn.ml, candidate, ctx.endpoint_name)
    if state != "Succeeded":
        raise UserError(f"candidate {candidate} is {state}, not Succeeded; deploy it again")
    _check_capacity(ctx, ctx.project.plan.stage(stage), candidate, roles.live)
    return roles


def _check_capacity(ctx: ReleaseContext, stage: Stage, candidate: str, live: str | None) -> None:
    """A stage that moves all traffic starts only when the candidate has as many instances as live
    (unless the stage allows fewer): with fewer, it would take live's whole load on less capacity."""
    if stage.traffic != 100 or live is None or stage.allow_fewer_instances:
        return
    deployments = ctx.deployments()
    if live not in deployments or candidate not in deployments:
        return
    has, had = deployments[candidate].instance_count or 0, deployments[live].instance_count or 0
    if has < had:
        raise UserError(
            f"stage {stage.name} would move all traffic to {candidate}, which has {has} instance(s) "
            f"where live {live} has {had}: roll back, give {candidate}'s spec `instance_count: {had}` "
            f"and deploy it again, or let the stage start with `allow_fewer_instances: true`"
        )


@dataclass
class StageRun:
    """One run of a stage: the release, the lock it holds (renewed as the stage goes), the bake's
    length, probe load, progress callback and gate's approval. Its first endpoint write moves the
    release's record there from the candidate (`take_record`)."""

    ctx: ReleaseContext
    stage: Stage
    roles: Roles
    held: HeldLock
    seconds: float
    probe_rps: float
    on_bake: Callable[[BakeProgress], None] | None
    approval: Approval | None = None  # how the stage's gate was passed (None: run by hand)
    samples: SampleSet = field(init=False)
    candidate: str = field(init=False)  # the release's, as the stage found them
    live: str | None = field(init=False)
    _record: dict[str, str | None] = field(init=False)  # the record to move to the endpoint

    def __post_init__(self) -> None:
        self.samples = SampleSet.load(self.ctx.project.root / SAMPLES_DIR)
        self.candidate, self.live = self.roles.candidate or "", self.roles.live
        self._record = {} if self.roles.on_endpoint else self.roles.record_tags()

    def take_record(self) -> dict[str, str | None]:
        """The record's tags for the endpoint write about to be sent (once; {} when it is there)."""
        record, self._record = self._record, {}
        return record

    def say(self, message: str) -> None:
        self.ctx.say(message)

    def still_mine(self) -> None:
        """Renew the lock; LockLost when it was taken over."""
        self.held.check()

    def restore(self) -> None:
        """All traffic back to live, mirror off, if the lock is still ours."""
        self.ctx.restore(self.live, self.held)

    def tag(self, tags: dict[str, str | None]) -> None:
        set_tags(self.ctx.conn.ml, self.ctx.endpoint_name, {**self.take_record(), **tags})

    def smoke(self, client: ScoringClient) -> None:
        """Every sample, sent to the candidate by header, must score before traffic moves.

        A candidate that already takes traffic (a later stage) and fails here is rolled back.
        """
        candidate, stage = self.candidate, self.stage.name
        for name, request in self.samples.requests.items():
            reply = client.score(request, deployment=candidate)
            if reply.ok:
                continue
            answer = (
                f"candidate {candidate} answered {reply.status} to samples/{name}: {reply.text[:200].strip()}"
            )
            history_tag = self.ctx.history_tag(stage, "fail", "0")
            if not live_traffic(self.ctx.endpoint()).get(candidate):
                self.tag({TAG_VERDICT: f"{stage}: fail", TAG_HISTORY: history_tag})
                raise SmokeFailed(f"{answer}; no traffic was moved", answer, rolled_back=False)
            self.restore()
            self.tag({TAG_STAGE: None, TAG_VERDICT: f"{stage}: fail", TAG_HISTORY: history_tag})
            raise SmokeFailed(
                f"{answer}; rolled back: all traffic to {self.live or 'none'}", answer, rolled_back=True
            )

    def bake(self, client: ScoringClient, metrics: MetricsSource, mirrored: bool) -> Verdict:
        plan = self.ctx.project.plan
        request = BakeRequest(
            endpoint=self.ctx.endpoint_name,
            candidate=self.candidate,
            live=self.live,
            seconds=self.seconds,
            limits=plan.analysis,
            metrics=metrics,
            client=client,
            samples=self.samples,
            output=plan.output_contract,
            probe_rps=self.probe_rps,
            mirrored=mirrored,
            on_progress=self.on_bake,
            still_allowed=self.still_mine,
            in_flight={name: probe_in_flight(d) for name, d in self.ctx.deployments().items()},
        )
        return bake(request)


class _Traffic:
    """A traffic stage: the candidate takes the stage's share of live traffic (all of it in a first
    release); a verdict of fail or error rolls back."""

    mirrored = False

    def __init__(self, run: StageRun) -> None:
        self.run = run
        traffic = run.stage.traffic or 100
        live, candidate = run.live, run.candidate
        self.split = {candidate: traffic, live: 100 - traffic} if live else {candidate: 100}
        self.mirror: dict[str, int] = {}

    @contextmanager
    def moved(self) -> Iterator[None]:
        run = self.run
        if not run.live:
            run.say("no live deployment: this first release gives the candidate all traffic")
        run.say(f"stage {run.stage.name}: traffic {_fmt(self.split)}")
        run.still_mine()
        set_traffic(run.ctx.conn.ml, run.ctx.endpoint_name, self.split, run.take_record())
        yield

    def settle(self, verdict: Verdict) -> bool:
        """Roll back a stage that failed or could not be judged; whether it rolled back."""
        if verdict.outcome not in ("fail", "error"):
            return False
        what = "failed" if verdict.outcome == "fail" else "could not be judged"
        self.run.say(f"stage {self.run.stage.name} {what}: rolling back to {self.run.live or 'no traffic'}")
        self.run.restore()
        return True


class _Shadow:
    """A shadow stage: live keeps all traffic while the candidate is judged on mirrored copies of
    it; mirroring is off again when the bake ends, and there is nothing to roll back."""

    mirrored = True

    def __init__(self, run: StageRun, live: str) -> None:
        share = live_traffic(run.ctx.endpoint()).get(run.candidate)
        if share:
            raise UserError(
                f"candidate {run.candidate} takes {share}% of live traffic and Azure mirrors only to a "
                f"deployment without it: stage {run.stage.name} cannot run again now (go on with the next "
                "stage, or `rollout rollback` first)"
            )
        self.run, self.live = run, live
        self.split = {live: 100}
        self.mirror = {run.candidate: run.stage.mirror or 0}

    @contextmanager
    def moved(self) -> Iterator[None]:
        run = self.run
        run.still_mine()
        run.say(f"stage {run.stage.name}: mirror {_fmt(self.mirror)} (traffic stays {self.live}=100)")
        with mirroring(run.ctx.conn.ml, run.ctx.endpoint_name, self.mirror, run.ctx.say, run.take_record()):
            yield

    def settle(self, verdict: Verdict) -> bool:
        """Note what the verdict was judged on; nothing rolls back."""
        run = self.run
        verdict.notes.append(judged_on_copies(run.candidate, self.mirror[run.candidate], self.live))
        if verdict.outcome == "fail":
            run.say(f"stage {run.stage.name} failed: no live traffic had moved; mirroring is off")
        return False


def run_stage(run: StageRun) -> StageResult:
    """Smoke, split (or mirror), bake, then write the verdict: unless the lock was taken over
    meanwhile (a rollback wins), in which case nothing more is written and LockLost is raised. The
    lock is checked before every change and renewed while the stage bakes."""
    if not run.stage.is_shadow:
        return _run(run, _Traffic(run))
    if run.live is None:
        return _skip(run)
    return _run(run, _Shadow(run, run.live))


def _run(run: StageRun, kind: _Traffic | _Shadow) -> StageResult:
    ctx = run.ctx
    with ctx.conn.scoring(ctx.endpoint_name) as client:
        run.smoke(client)
        metrics = ctx.conn.metrics(ctx.endpoint_name)
        with kind.moved():
            verdict = run.bake(client, metrics, kind.mirrored)
    run.still_mine()
    rolled_back = kind.settle(verdict)
    result = StageResult(run.stage.name, kind.split, verdict, rolled_back, mirror=kind.mirror)
    name, outcome = run.stage.name, verdict.outcome
    tags: dict[str, str | None] = {
        TAG_VERDICT: f"{name}: {outcome}",
        TAG_HISTORY: ctx.history_tag(name, outcome, _share(result, run.candidate)),
    }
    if outcome == "pass":
        tags[TAG_STAGE] = name
    elif outcome in ("fail", "error"):
        tags[TAG_STAGE] = None
    if outcome == "pass" and name == ctx.project.plan.stages[-1].name and not kind.mirrored:
        tags |= closing_tags(run.candidate, run.live)  # the last stage closes the release
    run.tag(tags)
    return result


def _skip(run: StageRun) -> StageResult:
    """A shadow stage with no live deployment to mirror from (a first release), recorded as passed."""
    name = run.stage.name
    run.say(f"stage {name}: no live deployment to mirror requests from (a first release): skipped")
    run.still_mine()
    run.tag(
        {
            TAG_STAGE: name,
            TAG_VERDICT: f"{name}: skipped",
            TAG_HISTORY: run.ctx.history_tag(name, "skipped", "0"),
        }
    )
    return StageResult(name, {}, Verdict("pass", [SKIPPED]), rolled_back=False)


def _share(result: StageResult, candidate: str) -> str:
    return share_of(candidate, Split(result.split, result.mirror))


def _fmt(split: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in split.items())
