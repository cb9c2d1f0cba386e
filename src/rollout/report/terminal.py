"""A release report in the terminal: tables and a sparkline per series."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rollout.report.charts import Chart, charts_of
from rollout.report.contents import ReleaseReport, StageReport
from rollout.report.glance import ROLLBACK, Glance
from rollout.report.text import (
    MARK,
    glance_rows,
    marks_text,
    span_text,
    split_text,
    step_rows,
    verdicts_text,
    when_text,
    who_text,
)

BARS = "▁▂▃▄▅▆▇█"
SHARE_WIDTH = 60  # characters of the share's sparkline
STYLE = {"pass": "bold green", "fail": "bold red", "inconclusive": "bold yellow", "error": "bold magenta"}


def sparkline(values: list[float | None], top: float) -> str:
    """One character per interval, its height the value's share of `top`; a space for no value."""
    return "".join(
        " " if v is None else BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in values
    )


def print_report(report: ReleaseReport, console: Console) -> None:
    console.rule(report.title)
    _glance(report.glance, console)
    for stage in report.stages:
        _stage(stage, console)
    table = Table(title=f"Steps (from the {report.source})", title_justify="left")
    for column in ("step", "outcome", "candidate gets", "ended", "who"):
        table.add_column(column)
    for row in step_rows(report):
        table.add_row(*row)
    console.print(table)
    if report.packages is not None:
        console.print(report.packages.summary(), markup=False)


def _glance(glance: Glance, console: Console) -> None:
    """The whole release before the stage details."""
    console.print(f"At a glance: {verdicts_text(glance)}", markup=False, highlight=False)
    console.print(f"  took {span_text(glance)}", markup=False, highlight=False)
    if glance.seconds > 0:
        line = sparkline([float(c.percent) for c in glance.samples(SHARE_WIDTH)], 100.0)
        ticks = [" "] * SHARE_WIDTH
        for mark in glance.marks:
            column = min(SHARE_WIDTH - 1, round(mark.at / glance.seconds * (SHARE_WIDTH - 1)))
            ticks[column] = "x" if mark.kind == ROLLBACK else "^"
        console.print(f"  candidate's share, 0 to 100%: {line}", markup=False, highlight=False)
        console.print(f"  {'^ stage, x rollback':>29} {''.join(ticks)}", markup=False, highlight=False)
    if glance.marks:
        console.print(f"  {marks_text(glance)}", markup=False, highlight=False)
    if glance.stages:
        table = Table(show_header=True)
        for heading in ("stage", "verdict", "candidate gets", "approval"):
            table.add_column(heading)
        for row in glance_rows(glance):
            table.add_row(*row)
        console.print(table)
    console.print()


def _stage(stage: StageReport, console: Console) -> None:
    e = stage.entry
    console.print(f"Stage {e.name}: [{STYLE.get(e.outcome, 'bold')}]{e.outcome}[/]")
    console.print(f"candidate {e.candidate}, live {e.live or 'none'}", markup=False)
    if e.from_tag:
        console.print("only the endpoint's summary was found: no details were recorded here", markup=False)
    else:
        for label, text in (
            ("traffic before", split_text(e.before)),
            ("traffic after", split_text(e.after)),
            ("bake", when_text(e)),
            ("who", who_text(e)),
        ):
            console.print(f"  {label}: {text}", markup=False)
        for line in [*e.reasons, *(f"note: {note}" for note in e.notes)]:
            console.print(f"  - {line}", markup=False)
        if e.rolled_back:
            console.print("  - rolled back automatically", markup=False)
    console.print(f"next: {stage.next_gate}", markup=False)
    if stage.thresholds:
        table = Table(show_header=True)
        for column in ("measure", "limit", "measured", ""):
            table.add_column(column)
        for t in stage.thresholds:
            table.add_row(t.measure, t.limit, t.measured, MARK[t.ok])
        console.print(table)
    for chart in charts_of(e):
        _chart(chart, console)
    console.print()


def _chart(chart: Chart, console: Console) -> None:
    console.print(f"{chart.title} ({chart.unit}), 0 to {chart.axis_top:g}:", markup=False)
    for series in chart.series:
        peak = max((v for v in series.values if v is not None), default=None)
        shown = "n/a" if peak is None else f"max {peak:g}"
        console.print(
            f"  {series.label:<20} {sparkline(series.values, chart.axis_top)}  {shown}",
            markup=False,
            highlight=False,
        )
