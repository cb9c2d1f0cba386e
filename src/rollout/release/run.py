"""The whole release: deploy, the acceptance suite, every stage behind its gate, retire.

A re-run goes on where the last one stopped: after the last stage that passed (the endpoint's
tags record it), without running the acceptance suite again. The caller decides how a gate is
answered (`confirm`), how the acceptance suite runs (`acceptance`, None to skip it) and how a stage
is shown while it bakes (`run_stage`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rollout.project.specs import Stage
from rollout.release.results import DeployResult, RetireResult, StageResult
from rollout.release.retire import in_grace
from rollout.release.steps import Release

Confirm = Callable[[str], bool]
Acceptance = Callable[[Release, DeployResult], None]
StageRunner = Callable[[Release, Stage], StageResult]


def promote_quietly(release: Release, stage: Stage) -> StageResult:
    """A stage runner that only runs the stage."""
    return release.promote(stage.name)


@dataclass
class ReleaseRun:
    """How far the release got: the last stage's verdict says how it ended."""

    deployed: DeployResult
    stages: list[StageResult] = field(default_factory=list)
    stopped_before: str | None = None  # a gate (a stage's name, or "retire") was declined
    retired: RetireResult | None = None


def run_release(
    release: Release,
    *,
    version: int | None = None,
    confirm: Confirm,
    acceptance: Acceptance | None,
    run_stage: StageRunner = promote_quietly,
) -> ReleaseRun:
    """Deploy the pin (or `version`), test it, walk the stages, retire the old deployment."""
    say = release.say
    run = ReleaseRun(release.deploy(version))
    candidate = run.deployed.candidate
    if candidate is None:
        return run
    roles = release.roles()
    passed = roles.stage
    stages = release.project.plan.stages
    names = [stage.name for stage in stages]
    if not roles.in_progress:  # its last stage passed and closed it; the old deployment is kept
        say(f"every stage of {run.deployed.model} has passed already")
        stages = []
    elif passed in names:
        say(f"stages up to {passed} have passed already")
        stages = stages[names.index(passed) + 1 :]
    elif acceptance is not None:
        acceptance(release, run.deployed)
    for stage in stages:
        if not confirm(f"Start stage {stage.name} ({stage.share} to {candidate})?"):
            say(f"stopped before stage {stage.name}; resume with `rollout promote --stage {stage.name}`")
            run.stopped_before = stage.name
            return run
        result = run_stage(release, stage)
        run.stages.append(result)
        if result.verdict.outcome == "inconclusive":
            say(f"stage {stage.name} was inconclusive; re-run `rollout promote --stage {stage.name}`")
        if result.verdict.outcome != "pass":
            return run
    keeping = in_grace(release)
    if keeping is not None:
        say(f"{keeping}; then `rollout retire`")
        run.stopped_before = "retire"
        return run
    if not confirm(f"Retire {run.deployed.live or 'nothing'}?"):
        run.stopped_before = "retire"
        return run
    run.retired = release.retire(now=True)  # its grace period was checked above, and only ends
    return run
