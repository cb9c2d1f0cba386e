"""The release verbs: deploy, invoke, promote, rollback, retire, release."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rollout.cli import console
from rollout.cli.common import (
    Json,
    ProjectPath,
    ResourceGroup,
    Subscription,
    Target,
    Workspace,
    bake_seconds,
    connect,
    invoke_endpoint,
    project_at,
    refuse_invalid_specs,
    registry_uri,
    release_for,
    warn_about_registered_model_code,
)
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from rollout.project.specs import Stage
    from rollout.release.history import Approval
    from rollout.release.results import StageResult
    from rollout.release.steps import Release

Version = Annotated[
    int | None, typer.Option("--version", help="Release this model version instead of the pin.")
]
BakeOverride = Annotated[
    str | None,
    typer.Option(
        "--bake",
        envvar="ROLLOUT_BAKE",
        help="Bake time for every stage instead of the plan's (e.g. 30s, 2m).",
    ),
]
ProbeRps = Annotated[
    float,
    typer.Option(
        "--probe-rps",
        envvar="ROLLOUT_PROBE_RPS",
        help="Probe requests per second sent to both deployments during a bake (in a shadow stage: "
        "to the endpoint, so that the candidate gets its mirrored share).",
    ),
]
ForceLock = Annotated[bool, typer.Option("--force-lock", help="Take over the endpoint's release lock.")]
PlanBakeMinimum = Annotated[
    bool,
    typer.Option(
        "--plan-bake-minimum",
        help="The plan's bake is the minimum: --bake (ROLLOUT_BAKE) may lengthen it, not shorten it "
        "(the release workflow's traffic stages, where ROLLOUT_BAKE is a repository variable).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("invoke")(invoke)
    app.command("promote")(promote)
    app.command("rollback")(rollback)
    app.command("retire")(retire)
    app.command("release")(release)


def deploy(
    version: Version = None,
    force_lock: ForceLock = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
    deployments_only: Annotated[
        bool,
        typer.Option(
            "--deployments-only",
            help="Write deployments only, never the endpoint (the release workflow's deploy job, whose "
            "role cannot): the endpoint must exist, and its spec is not applied.",
        ),
    ] = False,
) -> None:
    """Deploy the release plan's pinned model into the idle slot at 0% traffic (its record on the
    candidate deployment); first create or update the endpoint from its spec."""
    rel = release_for(path, target, subscription, resource_group, workspace)
    pinned = rel.project.plan.model
    warn_about_registered_model_code(
        registry_uri(target, subscription, resource_group, workspace), pinned.name, version or pinned.version
    )
    before = rel.status() if rel.exists() else None
    result = rel.deploy(version, force_lock=force_lock, deployments_only=deployments_only)
    console.github_output(result.to_dict())
    if result.candidate is None:
        console.step_summary(f"### Nothing to deploy\n\n{result.model} is already live in {result.live}.\n")
        if as_json:
            console.print_json(result.to_dict())
        else:
            print(f"{result.model} is already live in {result.live}")
        return
    after = rel.status()
    console.step_summary(
        f"### Deployed {result.model} into {result.candidate}\n\n"
        + (console.traffic_table("Traffic before", before.traffic, before.mirror_traffic) if before else "")
        + "\n"
        + console.traffic_table("Traffic after", after.traffic, after.mirror_traffic)
    )
    if as_json:
        console.print_json(result.to_dict())
    else:
        print(f"{result.model} deployed in {result.candidate} at 0% (live: {result.live or 'none'})")


def invoke(
    request_file: Annotated[Path, typer.Option("--request-file", help="JSON request body.")],
    deployment: Annotated[
        str | None, typer.Option("--deployment", help="Send to this deployment by header.")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Endpoint name (default: the spec's).")
    ] = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Score a request on the endpoint (or one deployment) and print the reply."""
    exit_code = invoke_endpoint(
        endpoint or project_at(path).endpoint_name,
        request_file,
        deployment,
        connect(target, subscription, resource_group, workspace),
        as_json,
    )
    raise typer.Exit(exit_code)


def promote(
    stage: Annotated[str, typer.Option("--stage", help="The release plan's stage to run.")],
    bake: BakeOverride = None,
    probe_rps: ProbeRps = 0.0,
    force_lock: ForceLock = False,
    plan_bake_minimum: PlanBakeMinimum = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Run one stage: set its split (or mirror), bake under analysis, roll back when it fails."""
    from rollout.cli.gate import gate_approval

    rel = release_for(path, target, subscription, resource_group, workspace)
    approval = gate_approval(rel.project.plan.stage(stage).environment)
    _exit_for(
        _run_stage(
            rel, stage, bake_seconds(bake), probe_rps, force_lock, as_json, plan_bake_minimum, approval
        )
    )


def _exit_for(result: StageResult) -> None:
    """A stage's exit: 0 pass, 1 fail, 3 inconclusive; an error ends in one `error:` line (exit 4)."""
    from rollout.release.promote import EXIT_ERROR, EXIT_FAIL, EXIT_INCONCLUSIVE

    outcome = result.verdict.outcome
    if outcome == "error":
        raise UserError(
            f"stage {result.stage} could not be judged: {'; '.join(result.verdict.reasons)}; "
            "rolled back: all traffic to the live deployment",
            exit_code=EXIT_ERROR,
        )
    if outcome == "fail":
        raise typer.Exit(EXIT_FAIL)
    if outcome == "inconclusive":
        raise typer.Exit(EXIT_INCONCLUSIVE)


def _run_stage(
    rel: Release,
    stage: str,
    bake_seconds: float | None,
    probe_rps: float,
    force_lock: bool,
    as_json: bool,
    plan_bake_minimum: bool = False,
    approval: Approval | None = None,
) -> StageResult:
    """Promote with a progress bar while it bakes; report the verdict (step outputs, stdout)."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    from rollout.release.bake import BakeProgress
    from rollout.release.promote import StageOptions

    before = rel.status()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=console.stderr
    ) as bar:
        tasks: list[TaskID] = []  # the bar appears when the bake begins, not for a refused stage

        def on_bake(p: BakeProgress) -> None:
            if not tasks:
                tasks.append(bar.add_task(f"bake {stage}", total=1.0))
            bar.update(
                tasks[0],
                completed=min(1.0, p.elapsed / p.seconds) if p.seconds else 1.0,
                description=(
                    f"bake {stage}: candidate {p.candidate.requests} req {p.candidate.errors} failed"
                    f" | live {p.live.requests} req {p.live.errors} failed"
                ),
            )

        options = StageOptions(bake_seconds, probe_rps, force_lock, on_bake, plan_bake_minimum, approval)
        result = rel.run_stage(stage, options)
    verdict = result.verdict
    # the step summary is the stage's report (`rollout report --format markdown --stage NAME`),
    # which the workflow's Summary step writes from the history this stage recorded
    console.github_output({"live": before.live, "candidate": before.candidate, "verdict": verdict.outcome})
    if as_json:
        console.print_json(result.to_dict())
    else:
        print(f"stage {stage}: {verdict.outcome}" + (" (rolled back)" if result.rolled_back else ""))
        for reason in verdict.reasons:
            print(f"  - {reason}")
        for note in verdict.notes:
            print(f"  - note: {note}")
    return result


def rollback(
    delete: Annotated[bool, typer.Option("--delete", help="Also delete the candidate deployment.")] = False,
    force_lock: ForceLock = False,
    own_run: Annotated[
        str | None,
        typer.Option(
            "--own-run",
            help="A release workflow's safety net: roll back only if the release in progress was deployed "
            "by this GitHub run (its GITHUB_RUN_ID) and no other run holds the release lock; otherwise "
            "say why and change nothing (exit 0).",
        ),
    ] = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """All traffic back to the deployment that was live before the release; mirror off."""
    rel = release_for(path, target, subscription, resource_group, workspace)
    if own_run is not None:
        if not own_run.strip():
            raise UserError("--own-run needs the GitHub run's id (GITHUB_RUN_ID), got an empty one")
        declined = rel.not_this_runs(own_run.strip())
        if declined is not None:
            console.step_summary(f"### Nothing rolled back\n\n{declined}\n")
            print(declined)
            return
    result = rel.rollback(delete=delete, force_lock=force_lock)
    after = rel.status()
    console.github_output({"live": result.live, "candidate": result.candidate, "verdict": "rolled back"})
    console.step_summary(
        "### Rolled back\n\n" + console.traffic_table("Traffic now", after.traffic, after.mirror_traffic)
    )
    if as_json:
        console.print_json(result.to_dict())
    else:
        print(
            f"rolled back: all traffic to {result.live or 'none'}" + (", candidate deleted" if delete else "")
        )


def retire(
    now: bool = typer.Option(
        False, "--now", help="Retire within the plan's retire_after too (no rollback by traffic after it)."
    ),
    force_lock: ForceLock = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Delete the drained old deployment once the candidate has all traffic and the plan's
    retire_after has passed since the last stage."""
    rel = release_for(path, target, subscription, resource_group, workspace)
    result = rel.retire(force_lock=force_lock, now=now)
    console.step_summary(f"### Retired {result.retired or 'nothing'}\n\nLive: {result.live}\n")
    if as_json:
        console.print_json(result.to_dict())
    else:
        print(f"retired {result.retired}; live: {result.live}" if result.retired else "nothing to retire")


def release(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask at each gate.")] = False,
    version: Version = None,
    bake: BakeOverride = None,
    probe_rps: ProbeRps = 0.0,
    skip_acceptance: Annotated[
        bool, typer.Option("--skip-acceptance", help="Do not run the acceptance suite.")
    ] = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """The whole release: validate, deploy, acceptance suite, every stage, retire."""
    from rollout.acceptance.launcher import run_acceptance_suite
    from rollout.cli.gate import gate_approval
    from rollout.release.history import GATE_PROMPT, Approval, who
    from rollout.release.run import run_release

    refuse_invalid_specs(path, "nothing was released")
    seconds = bake_seconds(bake)
    rel = release_for(path, target, subscription, resource_group, workspace)
    pinned = rel.project.plan.model
    warn_about_registered_model_code(
        registry_uri(target, subscription, resource_group, workspace), pinned.name, version or pinned.version
    )

    def run_stage(rel: Release, stage: Stage) -> StageResult:
        approval = gate_approval(stage.environment)
        if approval is None and not yes:  # the person at the prompt let the stage start
            approval = Approval(GATE_PROMPT, [p for p in [who()] if p], stage.environment)
        return _run_stage(rel, stage.name, seconds, probe_rps, False, False, approval=approval)

    run = run_release(
        rel,
        version=version,
        confirm=lambda question: yes or typer.confirm(question),
        acceptance=None if skip_acceptance else run_acceptance_suite,
        run_stage=run_stage,
    )
    deployed = run.deployed
    if deployed.candidate is None:
        print(f"{deployed.model} is already live in {deployed.live}: nothing to release")
        return
    if run.stages:
        _exit_for(run.stages[-1])
    if run.stopped_before == "retire":  # every stage passed; the old deployment is kept at 0%
        print(
            f"released {deployed.model}: {deployed.candidate} is live, {deployed.live or 'nothing'}"
            " kept at 0% until `rollout retire`"
        )
        console.print_status(rel.status())
        return
    if run.retired is None:
        return
    retired = run.retired
    print(
        f"released {deployed.model}: {retired.live} is live"
        + (f", {retired.retired} retired" if retired.retired else "")
    )
    console.print_status(rel.status())
