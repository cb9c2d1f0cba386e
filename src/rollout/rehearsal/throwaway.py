"""A release rehearsed on a throwaway emulator: live version M on one slot, then candidate N
released through the acceptance suite and every stage of the plan, nothing of the user's state used.

The rehearsal's state directory (ROLLOUT_HOME: registry, artifacts, emulator, history) is a
temporary folder, set in this process's environment while the rehearsal runs (the acceptance suite's
child process inherits it) and removed after, its emulator stopped. Deployment environments are a
cache keyed by their requirements: the user's cache is kept, so a rehearsal builds only what is new.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rollout.azureml.connection import Connection
from rollout.azureml.endpoints import set_traffic
from rollout.azureml.local_target import LocalTarget
from rollout.core import paths
from rollout.core.errors import UserError
from rollout.project.specs import Project, ReleasePlan, Stage
from rollout.registry.version_copy import copy_versions
from rollout.release.promote import StageOptions
from rollout.release.results import DeployResult, StageResult
from rollout.release.run import run_release
from rollout.release.steps import Release

# variables of the user's session that must not reach the rehearsal: its own registry and target,
# and a GitHub job's outputs and approvals (a rehearsal is no stage of a release workflow)
_CLEARED = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "ROLLOUT_TARGET", "GITHUB_OUTPUT", "GITHUB_ACTIONS")
ENVIRONMENTS_ENV = "ROLLOUT_ENVIRONMENTS_DIR"

Acceptance = Callable[[Release, DeployResult], None]
SHORTEST_BAKE_SECONDS = 4.0
REQUESTS_MARGIN = 1.5  # each stage's bake gives the candidate this many times min_requests


def rehearsal_bake(plan: ReleasePlan, probe_rps: float) -> float:
    """The shortest bake (whole seconds, at least SHORTEST_BAKE_SECONDS) in which the probe load
    gives the candidate REQUESTS_MARGIN times the plan's `min_requests` in every stage: half of the
    probe in a traffic stage (it alternates between candidate and live), the mirrored share of it
    in a shadow stage (it all goes to the endpoint, which live answers)."""
    if probe_rps <= 0:
        return SHORTEST_BAKE_SECONDS
    needed = plan.analysis.min_requests * REQUESTS_MARGIN
    seconds = [needed / (probe_rps * (stage.mirror / 100 if stage.mirror else 0.5)) for stage in plan.stages]
    return float(max(SHORTEST_BAKE_SECONDS, math.ceil(max(seconds, default=0.0))))


@dataclass(frozen=True)
class RehearsalSettings:
    """The versions rehearsed, the registry they are copied from, and the stages' bake and probe load."""

    candidate: int
    live: int
    source_registry: str
    bake_seconds: float
    probe_rps: float


@dataclass
class RehearsalResult:
    """How the rehearsal went: the candidate's deployment, each stage's result, and the cause of a
    failure (None: it passed)."""

    endpoint: str
    deployed: DeployResult | None = None
    stages: list[StageResult] = field(default_factory=list)
    failure: str | None = None


@dataclass(frozen=True)
class ThrowawayState:
    """The rehearsal's own ROLLOUT_HOME: registry, artifacts and emulator state."""

    home: Path

    @property
    def registry_uri(self) -> str:
        return f"sqlite:///{self.home / 'mlflow.db'}"

    def target(self) -> LocalTarget:
        return LocalTarget(self.home / "emulator", start=True, registry_uri=self.registry_uri)


@contextmanager
def throwaway_state() -> Iterator[ThrowawayState]:
    """A temporary ROLLOUT_HOME in force while the block runs; after it, its emulator stopped,
    the folder removed and the environment as it was."""
    environments = str(paths.environments_dir())  # the user's cache, resolved before the switch
    saved = {name: os.environ.get(name) for name in (*_CLEARED, paths.HOME_ENV, ENVIRONMENTS_ENV)}
    home = Path(tempfile.mkdtemp(prefix="rollout-rehearsal-"))
    home.chmod(0o700)
    state = ThrowawayState(home)
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ[paths.HOME_ENV] = str(home)
    os.environ[ENVIRONMENTS_ENV] = environments
    try:
        yield state
    finally:
        try:
            state.target().stop()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            shutil.rmtree(home, ignore_errors=True)


def rehearse(
    project: Project,
    settings: RehearsalSettings,
    state: ThrowawayState,
    acceptance: Acceptance,
    say: Callable[[str], None],
) -> RehearsalResult:
    """Copy both versions from the source registry, serve the live one, release the candidate."""
    name = project.plan.model.name
    say(f"copying {name} versions {settings.live} and {settings.candidate} into the rehearsal's registry")
    copy_versions(
        settings.source_registry,
        state.registry_uri,
        state.home / "artifacts",
        name,
        [settings.live, settings.candidate],
    )
    rel = Release(Connection(state.target()), project, progress=say)
    result = RehearsalResult(rel.endpoint_name)
    served = rel.deploy(version=settings.live)
    slot = served.candidate or "blue"  # the emulator is new: the first deploy always creates a slot
    set_traffic(rel.conn.ml, rel.endpoint_name, {slot: 100})
    rel.retire()
    say(f"{name}:{settings.live} is live in {slot}; releasing {name}:{settings.candidate}")

    def run_stage(release: Release, stage: Stage) -> StageResult:
        options = StageOptions(settings.bake_seconds, settings.probe_rps)
        return release.run_stage(stage.name, options)

    try:
        run = run_release(
            rel,
            version=settings.candidate,
            confirm=lambda _question: True,
            acceptance=acceptance,
            run_stage=run_stage,
        )
    except UserError as error:
        result.failure = str(error)
        return result
    result.deployed, result.stages = run.deployed, run.stages
    result.failure = _stage_failure(run.stages)
    return result


def _stage_failure(stages: list[StageResult]) -> str | None:
    """The first stage that did not pass, as one line; None when every stage passed."""
    for stage in stages:
        verdict = stage.verdict
        if verdict.outcome != "pass":
            reasons = "; ".join(verdict.reasons) or "no reason recorded"
            return f"stage {stage.stage}: {verdict.outcome} ({reasons})"
    return None
