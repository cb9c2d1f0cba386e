"""`rollout report`: the latest release (or one named) as text, Markdown or an HTML page."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rollout.cli.common import (
    ProjectPath,
    ResourceGroup,
    Subscription,
    Target,
    Workspace,
    project_at,
    release_for,
)
from rollout.cli.console import say
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from rollout.release.history import Entry
    from rollout.report.contents import ReleaseReport


class Format(StrEnum):
    terminal = "terminal"
    markdown = "markdown"
    html = "html"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    fmt: Annotated[
        Format, typer.Option("--format", help="terminal, markdown (GitHub, with Mermaid charts) or html.")
    ] = Format.terminal,
    output_file: Annotated[
        Path | None, typer.Option("--output", help="Write the report to this file instead of stdout.")
    ] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only this stage (its latest run).")] = None,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Also write the whole release (every stage) as an HTML page to this file."
        ),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option("--release", help="The release `<model>:<version>@<slot>` (default: the latest)."),
    ] = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """Report on the latest release: each stage's verdict, thresholds and charts, and its steps.

    Reads the history file (`.rollout/history/<endpoint>.jsonl`); steps recorded elsewhere (a
    stage job on another runner) come from the release's `rollout.history` tag (on the endpoint, or on
    the candidate until the first stage).
    """
    from rollout.release import history
    from rollout.report.contents import Recorded, build_report

    project = project_at(path)
    endpoint = project.endpoint_name
    from_file = history.read(endpoint, on_torn=lambda where: say(f"warning: {where}"))
    from_tag: list[Entry] = []
    latest = from_file[-1].release if from_file else None
    if not any(e.step == "deploy" and e.release == latest for e in from_file):  # began elsewhere
        from_tag = _from_endpoint(
            endpoint, bool(from_file), path, target, subscription, resource_group, workspace
        )
    recorded = Recorded(endpoint, from_file, from_tag)
    built = build_report(recorded, project.plan.stages, release, stage)
    _write(built, fmt, output_file)
    if html_file is not None:
        whole = built if stage is None else build_report(recorded, project.plan.stages, release)
        _write(whole, Format.html, html_file)


def _from_endpoint(
    endpoint: str,
    have_file: bool,
    path: Path,
    target: str,
    subscription: str | None,
    resource_group: str | None,
    workspace: str | None,
) -> list[Entry]:
    """The steps the endpoint's summary tag lists; [] (with a note) when the endpoint is not there
    but the history file has something to show."""
    from rollout.release.history import from_tag

    try:
        rel = release_for(path, target, subscription, resource_group, workspace)
        return from_tag(rel.roles().history, endpoint)
    except UserError as exc:
        if not have_file:
            raise UserError(
                f"no release history for endpoint {endpoint}: no history file, and {exc}"
            ) from None
        say(f"note: {exc}; reporting the history file alone")
        return []


def _write(built: ReleaseReport, fmt: Format, output_file: Path | None) -> None:
    if fmt is Format.terminal:
        from rich.console import Console

        from rollout.report.terminal import print_report

        if output_file is None:
            print_report(built, Console(highlight=False))
            return
        with _writable(output_file).open("w", encoding="utf-8") as out:
            print_report(built, Console(file=out, highlight=False, width=110))
        return
    if fmt is Format.markdown:
        from rollout.report.markdown import to_markdown

        text = to_markdown(built)
    else:
        from rollout.report.html import to_html

        text = to_html(built)
    if output_file is None:
        sys.stdout.write(text)
    else:
        _writable(output_file).write_text(text, encoding="utf-8")


def _writable(path: Path) -> Path:
    """`path`, its folder made if need be; a UserError when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        raise UserError(f"cannot write the report to {path} ({exc.strerror}: {exc.filename})") from None
    return path
