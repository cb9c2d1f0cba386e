"""`rollout rehearse`: a model version's release rehearsed on a throwaway emulator, with its report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rollout.cli.common import (
    ProjectPath,
    ResourceGroup,
    Subscription,
    Workspace,
    bake_seconds,
    project_at,
    refuse_invalid_specs,
    registry_uri,
)
from rollout.cli.console import say
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from rollout.project.specs import Project
    from rollout.rehearsal.throwaway import RehearsalResult, RehearsalSettings

DEFAULT_PROBE_RPS = 50.0


def register(app: typer.Typer) -> None:
    app.command("rehearse")(rehearse)


def rehearse(
    version: Annotated[
        int | None,
        typer.Option("--version", help="The candidate: this model version (default: the plan's pin)."),
    ] = None,
    live: Annotated[
        int | None,
        typer.Option(
            "--live",
            help="The version live before the release (default: the plan's pin when it is another "
            "version, else the pin at --base).",
        ),
    ] = None,
    base: Annotated[
        str,
        typer.Option("--base", help="The commit whose plan pins the live version (a pull request's base)."),
    ] = "HEAD",
    bake: Annotated[
        str | None,
        typer.Option(
            "--bake",
            envvar="ROLLOUT_REHEARSAL_BAKE",
            help="Bake time of every stage (e.g. 6s; default: the shortest, at least 4s, that gives the "
            "candidate 1.5 times the plan's min_requests at the probe load in every stage).",
        ),
    ] = None,
    probe_rps: Annotated[
        float,
        typer.Option(
            "--probe-rps",
            envvar="ROLLOUT_REHEARSAL_PROBE_RPS",
            help="Probe requests per second during each bake.",
        ),
    ] = DEFAULT_PROBE_RPS,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Also write the report as Markdown to this file (a job summary)."),
    ] = None,
    path: ProjectPath = Path("."),
    target: Annotated[
        str,
        typer.Option(
            "--target",
            envvar="ROLLOUT_TARGET",
            help="Where the versions are read from: local (the local registry, default) or azure (the "
            "workspace's registry). The release itself always runs on a throwaway emulator.",
        ),
    ] = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Rehearse the release of a model version: live on one slot, the candidate through the
    acceptance suite and every stage of the plan (short bakes), on a throwaway emulator; print the
    report. Nothing of the local state or of Azure is changed."""
    from rollout import registry
    from rollout.acceptance.launcher import run_acceptance_suite
    from rollout.github.live_pin import live_version
    from rollout.rehearsal.throwaway import RehearsalSettings, rehearsal_bake, rehearse, throwaway_state

    asked_bake = bake_seconds(bake)
    refuse_invalid_specs(path, "nothing was rehearsed")
    project = project_at(path)
    candidate = version if version is not None else project.plan.model.version
    live_pin = live_version(path, candidate, live, base)
    if live_pin is None:
        nothing = f"nothing to rehearse: the model pin did not change ({base} pins version {candidate} too)"
        print(nothing)
        _write_markdown(markdown, f"### Nothing to rehearse\n\n{nothing}; the specs and samples are valid.\n")
        return
    seconds = asked_bake if asked_bake is not None else rehearsal_bake(project.plan, probe_rps)
    source = registry_uri(target, subscription, resource_group, workspace)  # before the state is swapped
    settings = RehearsalSettings(candidate, live_pin, source, seconds, probe_rps)
    registry.quiet_logs()
    with throwaway_state() as state:
        result = rehearse(project, settings, state, run_acceptance_suite, say)
        _report(project, settings, result, markdown)
    if result.failure is not None:
        raise UserError(f"the rehearsal failed: {result.failure}")
    model = project.plan.model.name
    print(f"rehearsal passed: {model}:{settings.candidate} released over {model}:{settings.live}")


def _report(
    project: Project, settings: RehearsalSettings, result: RehearsalResult, markdown: Path | None
) -> None:
    """Print the rehearsed release's report (terminal) and write it as Markdown when asked; the
    report is of the candidate's release, once its deployment was recorded."""
    from rich.console import Console

    from rollout.release import history
    from rollout.report.contents import Recorded, build_report
    from rollout.report.markdown import to_markdown
    from rollout.report.terminal import print_report

    model = project.plan.model.name
    entries = history.read(result.endpoint)
    candidate_model = f"{model}:{settings.candidate}"
    recorded = bool(entries) and entries[-1].release.startswith(f"{candidate_model}@")
    if result.failure is None:
        headline = f"### Rehearsal passed: {candidate_model} released over {model}:{settings.live}\n\n"
    else:
        headline = f"### Rehearsal failed: {candidate_model}\n\n{result.failure}\n\n"
    text = headline
    if recorded:
        built = build_report(Recorded(result.endpoint, entries), project.plan.stages)
        print_report(built, Console(highlight=False))
        text += to_markdown(built)
    _write_markdown(markdown, text)


def _write_markdown(markdown: Path | None, text: str) -> None:
    if markdown is None:
        return
    try:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the report to {markdown} ({exc.strerror})") from None
