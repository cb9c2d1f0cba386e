"""`rollout workflow` commands: keep the GitHub Actions workflows in step with the release plan."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rollout.cli import output
from rollout.errors import UserError
from rollout.project.layout import PLAN_FILE

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
        f"{stage.name} ({stage.traffic}%, {stage.environment})" for stage in workflow_plan.stages
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
    path: Path = PATH_OPTION,
    plan: Path = PLAN_OPTION,
) -> None:
    """Decide whether a push releases: only if it changes the plan's model pin (name or version).

    Prints the decision, and writes `changed` (true/false), `reason`, `before` and `after` to
    $GITHUB_OUTPUT when it is set.
    """
    from rollout.github import pin_change

    decision = pin_change.decide(path, plan.as_posix(), event, base, head)
    output.github_output(
        {
            "changed": "true" if decision.release else "false",
            "reason": decision.reason,
            "before": str(decision.before or ""),
            "after": str(decision.after),
        }
    )
    typer.echo(f"{'release' if decision.release else 'no release'}: {decision.reason}")


def junit_summary(
    report: Path = typer.Argument(..., help="JUnit XML report (pytest --junitxml)."),
    title: str = typer.Option("Acceptance suite", "--title", help="Heading of the summary."),
) -> None:
    """Print a markdown summary of a JUnit report and append it to $GITHUB_STEP_SUMMARY if set."""
    from rollout.github import junit_summary

    markdown = junit_summary.to_markdown(junit_summary.read_report(report), title)
    output.step_summary(markdown)
    typer.echo(markdown, nl=False)


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
    app.add_typer(group, name="workflow")
