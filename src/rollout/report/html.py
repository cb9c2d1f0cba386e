"""A release report as one self-contained HTML page: inline style and SVG charts, no script, no
network (it opens offline, from a file or a workflow artifact)."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from rollout.release.history import Entry
from rollout.report.charts import charts_of
from rollout.report.contents import ReleaseReport, StageReport, Threshold
from rollout.report.svg import share_svg, to_svg
from rollout.report.text import (
    glance_rows,
    marks_text,
    span_text,
    split_text,
    step_rows,
    verdicts_text,
    when_text,
    who_text,
)

MARKS = {True: "met", False: "missed", None: "not judged"}  # a threshold, judged or not


@dataclass(frozen=True)
class _StageView:
    entry: Entry
    before: str
    after: str
    when: str
    who: str
    next_gate: str
    thresholds: list[Threshold]
    charts: list[Markup]


@dataclass(frozen=True)
class _GlanceView:
    verdicts: str
    span: str
    rows: list[list[str]]
    boundaries: str
    chart: Markup | None


def _view(stage: StageReport) -> _StageView:
    e = stage.entry
    return _StageView(
        entry=e,
        before=split_text(e.before),
        after=split_text(e.after),
        when=when_text(e),
        who=who_text(e),
        next_gate=stage.next_gate,
        thresholds=stage.thresholds,
        charts=[Markup(to_svg(chart)) for chart in charts_of(e)],  # to_svg escapes its text
    )


def to_html(report: ReleaseReport) -> str:
    env = Environment(loader=PackageLoader("rollout.report"), autoescape=True)
    page = env.get_template("page.html.j2")
    return page.render(
        report=report,
        stages=[_view(stage) for stage in report.stages],
        steps=step_rows(report),
        marks=MARKS,
        glance=_GlanceView(
            verdicts=verdicts_text(report.glance),
            span=span_text(report.glance),
            rows=glance_rows(report.glance),
            boundaries=marks_text(report.glance) if report.glance.marks else "",
            chart=Markup(share_svg(report.glance)) if report.glance.seconds > 0 else None,  # escaped
        ),
    )
