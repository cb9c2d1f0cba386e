"""Charts as inline SVG: axes, grid, one line per series, and a marker per measured point that
carries its values (`data-series`, `data-at`, `data-value`), so the page needs no script; and the
candidate's share over the whole release, its stage boundaries and rollbacks marked."""

from __future__ import annotations

from html import escape

from rollout.report.charts import CANDIDATE_COLOUR, Chart
from rollout.report.glance import ROLLBACK, Glance

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 48, 44
TICKS = 4
BOUNDARY_COLOUR, ROLLBACK_COLOUR = "#495057", "#c92a2a"


def to_svg(chart: Chart) -> str:
    top = chart.axis_top
    last = max(chart.seconds) or 1.0
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: float) -> float:
        return round(LEFT + width * at / last, 1)

    def y(value: float) -> float:
        return round(TOP + height * (1 - value / top), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}" data-chart="{chart.key}">',
        f"<title>{escape(chart.title)} ({escape(chart.unit)})</title>",
        f'<text x="{LEFT}" y="15" class="chart-title">{escape(chart.title)} ({escape(chart.unit)})</text>',
    ]
    for tick in range(TICKS + 1):
        level = top * tick / TICKS
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level)}" y2="{y(level)}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(level) + 4}" text-anchor="end" class="tick">{level:g}</text>'
        )
    for at in (0.0, last / 2, last):
        parts.append(
            f'<text x="{x(at)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">{at:.0f}</text>'
        )
    parts.append(
        f'<text x="{LEFT + width / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">'
        "seconds into the bake</text>"
    )
    for index, series in enumerate(chart.series):
        runs: list[list[str]] = [[]]  # a gap where an interval had no requests
        for at, value in zip(chart.seconds, series.values, strict=True):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{x(at)},{y(value)}")
            parts.append(
                f'<circle cx="{x(at)}" cy="{y(value)}" r="3" fill="{series.colour}" class="point" '
                f'data-series="{series.key}" data-at="{at:g}" data-value="{value:g}">'
                f"<title>{escape(series.label)}: {value:g} {escape(chart.unit)} at {at:g} s</title></circle>"
            )
        parts.extend(
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{series.colour}" '
            f'stroke-width="2" data-series="{series.key}"/>'
            for run in runs
            if run
        )
        legend_x = LEFT + 180 * index
        parts.append(
            f'<rect x="{legend_x}" y="25" width="12" height="12" fill="{series.colour}"/>'
            f'<text x="{legend_x + 16}" y="35" class="legend">{escape(series.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def share_svg(glance: Glance) -> str:
    """The candidate's share over the release as a step line, a dashed line where each stage begins
    and a red one at each rollback (each carries its label and time as `data-*`)."""
    last = glance.seconds or 1.0
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: float) -> float:
        return round(LEFT + width * at / last, 1)

    def y(percent: float) -> float:
        return round(TOP + height * (1 - percent / 100), 1)

    title = "Candidate's share over the release (%)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}" data-chart="share">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="15" class="chart-title">{escape(title)}</text>',
    ]
    for level in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level)}" y2="{y(level)}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(level) + 4}" text-anchor="end" class="tick">{level}</text>'
        )
    for at in (0.0, last / 2, last):
        parts.append(
            f'<text x="{x(at)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">{at:.0f}</text>'
        )
    parts.append(
        f'<text x="{LEFT + width / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">'
        "seconds into the release</text>"
    )
    for mark in glance.marks:
        colour = ROLLBACK_COLOUR if mark.kind == ROLLBACK else BOUNDARY_COLOUR
        parts.append(
            f'<line x1="{x(mark.at)}" x2="{x(mark.at)}" y1="{TOP}" y2="{TOP + height}" stroke="{colour}" '
            f'stroke-dasharray="4 3" class="mark" data-kind="{mark.kind}" data-label="{escape(mark.label)}" '
            f'data-at="{mark.at:g}"><title>{escape(mark.label)} at {mark.at:.0f} s</title></line>'
            f'<text x="{x(mark.at) + 3}" y="{TOP - 4}" class="legend">{escape(mark.label)}</text>'
        )
    points: list[str] = []
    level = 0
    for change in glance.changes:
        points += [f"{x(change.at)},{y(level)}", f"{x(change.at)},{y(change.percent)}"]
        level = change.percent
    points.append(f"{x(last)},{y(level)}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{CANDIDATE_COLOUR}" '
        'stroke-width="2" data-series="share"/>'
    )
    parts.append("</svg>")
    return "".join(parts)
