"""The GitHub Actions workflows, rendered from the release plan and checked against it (with the
Azure roles of their jobs, `.github/roles/`, from rollout.github.roles).

`release.yml` has one job per stage of the plan (shadow and traffic stages alike), in the plan's
order, each in the stage's GitHub environment; `rollback.yml` is gated by the environment of the
plan's last stage; `pull-request.yml` rehearses a pull request's release on the emulator. All are
rendered from the Jinja2 templates in `rollout/github/workflow_templates/` (release.yml loops over
the plan's stages), so the workflow
cannot drift from the plan unnoticed: `check` names every difference.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from rollout.core.errors import UserError
from rollout.github.defaults import ENVIRONMENTS_FILE
from rollout.github.environments_config import load_config
from rollout.github.roles import role_files
from rollout.github.yaml_file import read_yaml
from rollout.project.layout import PLAN_FILE
from rollout.project.loading import load_release_plan
from rollout.project.names import name_problems

RELEASE_WORKFLOW = Path(".github/workflows/release.yml")
ROLLBACK_WORKFLOW = Path(".github/workflows/rollback.yml")
PULL_REQUEST_WORKFLOW = Path(".github/workflows/pull-request.yml")

# The environment of the jobs that write no endpoint (deploy at 0%, acceptance, retire, the gate
# of a push). Its branch policy keeps Azure credentials on `main`.
RELEASE_ENVIRONMENT = "release"
# The environment of the release's safety-net rollback: it moves traffic without a reviewer (a
# failed or cancelled release must not wait for one), so it is kept apart from `release`, whose
# identity then writes no endpoint; `main` only, no admin bypass.
SAFETY_NET_ENVIRONMENT = "release-rollback"
# The environment of a release's first job when someone starts it by hand (workflow_dispatch): a
# merged pull request was reviewed, a dispatched run was not, so its reviewers approve it before any
# job logs in to Azure (every later job needs that one).
DISPATCH_ENVIRONMENT = "release-dispatch"
# The environment of the retire job when the plan keeps the old deployment for a while
# (`retire_after`): its wait timer, of that many minutes, holds the job; no job sleeps.
RETIRE_ENVIRONMENT = "retire"

# Every third-party action, pinned to the full commit of a release (the tag in the comment).
ACTION_PINS: dict[str, tuple[str, str, str]] = {
    "checkout": ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-python": ("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "upload-artifact": ("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "azure-login": ("azure/login", "f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1"),
}

# Minutes a stage job may run beyond its bake (install, login, traffic changes, rollback).
STAGE_TIMEOUT_MARGIN_MINUTES = 30

_PROMOTE_STAGE = re.compile(r"rollout promote --stage\s+\"?([^\"\s]+)\"?")


@dataclass(frozen=True)
class StageJob:
    """One stage of the plan, as the workflow's stage job needs it."""

    name: str
    share: str  # what the stage sends the candidate: `10%` (of live traffic), `mirror 50%`
    bake_seconds: int
    environment: str

    @property
    def job_id(self) -> str:
        return f"stage-{self.name}"

    @property
    def bake(self) -> str:
        """The bake as the job's step name shows it: 90s, 10m, 2h."""
        seconds = self.bake_seconds
        if seconds % 3600 == 0 and seconds:
            return f"{seconds // 3600}h"
        if seconds % 60 == 0 and seconds:
            return f"{seconds // 60}m"
        return f"{seconds}s"

    @property
    def timeout_minutes(self) -> int:
        return math.ceil(self.bake_seconds / 60) + STAGE_TIMEOUT_MARGIN_MINUTES

    @property
    def serves_users(self) -> bool:
        """A traffic stage (the candidate answers users), not a shadow stage: a repository
        variable may lengthen its bake, not shorten it."""
        return not self.share.startswith("mirror")


@dataclass(frozen=True)
class WorkflowPlan:
    """What the workflows are rendered from: the plan's path, its endpoint and its stages."""

    plan_path: str  # relative to the project root, POSIX separators
    endpoint: str
    stages: tuple[StageJob, ...]
    retire_after_minutes: int = 0
    auth_mode: str = "key"  # the endpoint's: which scoring credential the acceptance role gets

    @property
    def retire_environment(self) -> str:
        """The retire job's environment: one whose wait timer is the plan's `retire_after`, if any."""
        return RETIRE_ENVIRONMENT if self.retire_after_minutes else RELEASE_ENVIRONMENT

    @property
    def rollback_environment(self) -> str:
        """The environment that gates a manual rollback: the one of the stage reaching 100%."""
        return self.stages[-1].environment


def _endpoint_name(spec: Path) -> tuple[str, str]:
    """The endpoint spec's name and auth mode."""
    data = read_yaml(spec, f"endpoint spec {spec}")
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or name_problems(name):
        raise UserError(
            f"endpoint spec {spec} has name {name!r}; expected 3 to 32 letters, digits and dashes, "
            "starting with a letter"
        )
    return name, str(data.get("auth_mode") or "key")


def read_plan(root: Path, plan: Path = PLAN_FILE) -> WorkflowPlan:
    """Read what the workflows need from the release plan and the endpoint spec it names."""
    plan_file = plan if plan.is_absolute() else root / plan
    if not plan_file.is_file():
        raise UserError(f"release plan not found: {plan_file}")
    try:
        plan_path = plan_file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"release plan {plan_file} is outside the project {root}") from None
    release_plan = load_release_plan(plan_file)
    stages = tuple(
        StageJob(stage.name, stage.share, math.ceil(stage.bake_seconds), stage.environment)
        for stage in release_plan.stages
    )
    endpoint, auth_mode = _endpoint_name(release_plan.endpoint)
    return WorkflowPlan(
        plan_path=plan_path,
        endpoint=endpoint,
        stages=stages,
        retire_after_minutes=int(release_plan.retire_after_seconds // 60),
        auth_mode=auth_mode,
    )


@functools.cache
def _environment() -> jinja2.Environment:
    """The templates' Jinja environment: `[[ ... ]]` for values, so that GitHub's `${{ ... }}`
    expressions stay as they are (a bash `[[ ... ]]` test cannot be used in a template)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("rollout.github", "workflow_templates"),
        variable_start_string="[[",
        variable_end_string="]]",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _render(template: str, plan: WorkflowPlan) -> str:
    actions = {key: f"{repo}@{sha} # {version}" for key, (repo, sha, version) in ACTION_PINS.items()}
    return (
        _environment()
        .get_template(template)
        .render(
            plan=plan,
            actions=actions,
            release_environment=RELEASE_ENVIRONMENT,
            dispatch_environment=DISPATCH_ENVIRONMENT,
            safety_net_environment=SAFETY_NET_ENVIRONMENT,
        )
    )


def render_release(plan: WorkflowPlan) -> str:
    """The text of `.github/workflows/release.yml` for this plan."""
    return _render("release.yml", plan)


def render_rollback(plan: WorkflowPlan) -> str:
    """The text of `.github/workflows/rollback.yml` for this plan."""
    return _render("rollback.yml", plan)


def render_pull_request(plan: WorkflowPlan) -> str:
    """The text of `.github/workflows/pull-request.yml` (the release rehearsed on a pull request)."""
    return _render("pull-request.yml", plan)


def rendered(plan: WorkflowPlan) -> dict[Path, str]:
    """Every workflow rendered from the plan, by path relative to the project root."""
    return {
        RELEASE_WORKFLOW: render_release(plan),
        ROLLBACK_WORKFLOW: render_rollback(plan),
        PULL_REQUEST_WORKFLOW: render_pull_request(plan),
    }


def generated(plan: WorkflowPlan) -> dict[Path, str]:
    """The workflows and the roles of their jobs (`.github/roles/`), by path relative to the root."""
    return {**rendered(plan), **role_files(plan.auth_mode)}


def write(root: Path, plan: WorkflowPlan) -> list[Path]:
    """Write the rendered workflows and roles; returns the paths whose content changed."""
    changed = []
    for relative, text in generated(plan).items():
        path = root / relative
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        changed.append(relative)
    return changed


def _environment_name(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return environment if isinstance(environment, str) else None


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def workflow_stages(workflow: dict[str, Any]) -> list[tuple[str, str, str | None, list[str]]]:
    """The stage jobs of a release workflow, in file order: (job id, stage, environment, needs)."""
    found = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps", []) if isinstance(job, dict) else []:
            match = _PROMOTE_STAGE.search(str(step.get("run", ""))) if isinstance(step, dict) else None
            if match:
                found.append((job_id, match.group(1), _environment_name(job), _needs(job)))
                break
    return found


def stage_differences(plan: WorkflowPlan, workflow_text: str) -> list[str]:
    """How the release workflow's stage jobs differ from the plan's stages (names, order, gates)."""
    try:
        workflow = yaml.safe_load(workflow_text)
    except yaml.YAMLError as exc:
        return [f"the workflow is not valid YAML: {exc}".replace("\n", " ")]
    if not isinstance(workflow, dict):
        return ["the workflow is not a YAML mapping"]
    jobs = workflow_stages(workflow)
    in_workflow = [stage for _, stage, _, _ in jobs]
    in_plan = [stage.name for stage in plan.stages]
    problems = [f"stage {name!r} of the plan has no job" for name in in_plan if name not in in_workflow]
    problems += [f"job for stage {name!r} is not in the plan" for name in in_workflow if name not in in_plan]
    common_workflow = [name for name in in_workflow if name in in_plan]
    common_plan = [name for name in in_plan if name in in_workflow]
    if common_workflow != common_plan:
        problems.append(
            f"stages run in the order {' -> '.join(common_workflow)}; "
            f"the plan says {' -> '.join(common_plan)}"
        )
    by_stage = {stage: (job_id, environment, needs) for job_id, stage, environment, needs in jobs}
    previous_job = "acceptance"
    for stage in plan.stages:
        if stage.name not in by_stage:
            continue
        job_id, environment, needs = by_stage[stage.name]
        if environment != stage.environment:
            problems.append(
                f"stage {stage.name!r} runs in environment {environment!r}; "
                f"the plan says {stage.environment!r}"
            )
        if previous_job not in needs:
            problems.append(f"job {job_id!r} (stage {stage.name!r}) does not need {previous_job!r}")
        previous_job = job_id
    return problems


def _first_text_difference(path: Path, expected: str, actual: str) -> str:
    pairs = itertools.zip_longest(actual.splitlines(), expected.splitlines())
    for number, (have, want) in enumerate(pairs, start=1):
        if have != want:
            shown = [
                repr(line.strip()) if line is not None else "the end of the file" for line in (have, want)
            ]
            return f"{path} differs from the rendered text at line {number}: {shown[0]} instead of {shown[1]}"
    return f"{path} differs from the rendered text"  # only in line endings


def check(root: Path, plan: WorkflowPlan) -> list[str]:
    """Every difference between the workflows on disk and those rendered from the plan."""
    problems: list[str] = []
    for relative, expected in generated(plan).items():
        path = root / relative
        if not path.exists():
            problems.append(f"{relative} is missing")
            continue
        actual = path.read_text()
        if actual == expected:
            continue
        if relative == RELEASE_WORKFLOW:
            problems += [f"{relative}: {problem}" for problem in stage_differences(plan, actual)]
        problems.append(_first_text_difference(relative, expected, actual))
    return problems + retire_timer_problems(root, plan)


def retire_timer_problems(root: Path, plan: WorkflowPlan) -> list[str]:
    """The plan's `retire_after` needs the retire environment's wait timer to be at least as long
    (else the retire job starts early and `rollout retire` refuses); checked when the repository
    keeps its environments as code."""
    path = root / ENVIRONMENTS_FILE
    if not plan.retire_after_minutes or not path.is_file():
        return []
    environment = load_config(path).environments.get(RETIRE_ENVIRONMENT)
    needs = f"the plan's retire_after ({plan.retire_after_minutes} min)"
    if environment is None:
        return [f"{ENVIRONMENTS_FILE} has no `{RETIRE_ENVIRONMENT}` environment, which {needs} needs"]
    if environment.wait_timer < plan.retire_after_minutes:
        return [
            f"{ENVIRONMENTS_FILE}: `{RETIRE_ENVIRONMENT}` waits {environment.wait_timer} min,"
            f" less than {needs}: set its wait_timer to {plan.retire_after_minutes}"
        ]
    return []


def unified_diff(root: Path, plan: WorkflowPlan) -> str:
    """A unified diff from the workflows on disk to the rendered ones."""
    chunks: list[str] = []
    for relative, expected in generated(plan).items():
        path = root / relative
        actual = path.read_text() if path.exists() else ""
        chunks.extend(
            difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                f"{relative} (on disk)",
                f"{relative} (rendered)",
            )
        )
    return "".join(chunks)
