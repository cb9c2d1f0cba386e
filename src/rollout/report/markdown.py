"""A release report as GitHub-flavoured Markdown: tables, and Mermaid `xychart-beta` charts that
GitHub draws in job summaries."""

from __future__ import annotations

import json

from rollout.report.charts import Chart, charts_of
from rollout.report.contents import ReleaseReport, StageReport, Threshold
from rollout.report.glance import Glance
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

SHARE_SAMPLES = 40  # points of the share chart (Mermaid spreads a line's values evenly)


def to_markdown(report: ReleaseReport) -> str:
    parts = [f"## {report.title}\n"] if len(report.stages) != 1 else []
    parts.append(_glance(report))
    for stage in report.stages:
        parts.append(_stage(stage))
    parts.append(_steps(report))
    return "\n".join(parts).rstrip() + "\n"


def _stage(stage: StageReport) -> str:
    e = stage.entry
    lines = [
        f"### Stage {e.name}: {e.outcome}",
        "",
        f"Release `{e.release}` on `{e.endpoint}`: candidate `{e.candidate}`, live `{e.live or 'none'}`.",
        "",
    ]
    if e.from_tag:
        lines += ["Only the endpoint's summary was found: no details were recorded here.", ""]
    else:
        lines += [
            "| | |",
            "|---|---|",
            f"| traffic before | {split_text(e.before)} |",
            f"| traffic after | {split_text(e.after)} |",
            f"| bake | {when_text(e)} |",
            f"| who | {who_text(e)}{f' ([run]({e.run_url}))' if e.run_url else ''} |",
            "",
        ]
        bullets = [f"- {reason}" for reason in e.reasons] + [f"- note: {note}" for note in e.notes]
        bullets += ["- rolled back automatically"] if e.rolled_back else []
        lines += [*bullets, ""] if bullets else []
    lines += [f"**Next:** {stage.next_gate}", ""]
    if stage.thresholds:
        lines += [_thresholds(stage.thresholds), ""]
    for chart in charts_of(e):
        lines += [_chart(chart), ""]
    return "\n".join(lines)


def _glance(report: ReleaseReport) -> str:
    """The whole release before the stage details."""
    glance = report.glance
    rows = "\n".join("| " + " | ".join(row) + " |" for row in glance_rows(glance))
    lines = [
        f"### Release `{report.release}` at a glance",
        "",
        f"**{verdicts_text(glance)}** in {span_text(glance)}.",
        "",
    ]
    if rows:
        lines += ["| stage | verdict | candidate gets | approval |", "|---|---|---|---|", rows, ""]
    if glance.seconds > 0:  # a release within one second has no time axis to draw
        lines += [_share_chart(glance), ""]
    if glance.marks:
        lines += [f"{marks_text(glance)}.", ""]
    return "\n".join(lines)


def _share_chart(glance: Glance) -> str:
    """The candidate's share over the release as a Mermaid line (a mirrored share counts as its
    percent of the copies)."""
    values = ", ".join(str(change.percent) for change in glance.samples(SHARE_SAMPLES))
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            '  title "Candidate\'s share over the release (%)"',
            f'  x-axis "seconds into the release" 0 --> {round(glance.seconds)}',
            '  y-axis "% to the candidate" 0 --> 100',
            f"  line [{values}]",
            "```",
        ]
    )


def _thresholds(rows: list[Threshold]) -> str:
    body = "\n".join(f"| {r.measure} | {r.limit} | {r.measured} | {MARK[r.ok]} |" for r in rows)
    return f"| measure | limit | measured | |\n|---|---|---|---|\n{body}"


def _chart(chart: Chart) -> str:
    """A Mermaid line chart; an interval without requests is drawn at 0 (Mermaid has no gaps)."""
    palette = ", ".join(s.colour for s in chart.series)
    config = {"themeVariables": {"xyChart": {"plotColorPalette": palette}}}
    legend = ", ".join(f"{s.label} ({'orange' if s.key == 'candidate' else 'blue'})" for s in chart.series)
    x = ", ".join(f'"{at:g}"' for at in chart.seconds)
    lines = [
        f"**{chart.title}** ({chart.unit}): {legend}",
        "",
        "```mermaid",
        f"%%{{init: {json.dumps(config)}}}%%",
        "xychart-beta",
        f'  title "{chart.title} ({chart.unit})"',
        f'  x-axis "seconds into the bake" [{x}]',
        f'  y-axis "{chart.unit}" 0 --> {chart.axis_top:g}',
    ]
    lines += [
        f"  line [{', '.join(f'{v:g}' if v is not None else '0' for v in s.values)}]" for s in chart.series
    ]
    return "\n".join([*lines, "```"])


def _steps(report: ReleaseReport) -> str:
    rows = "\n".join("| " + " | ".join(row) + " |" for row in step_rows(report))
    packages = f"\n{report.packages.summary()}\n" if report.packages else ""
    return (
        f"**Steps of release `{report.release}`** (from the {report.source})\n\n"
        f"| step | outcome | candidate gets | ended | who |\n|---|---|---|---|---|\n{rows}\n{packages}"
    )
