"""The release at a glance, built from a recorded history: each stage's verdict in order, the
candidate's share over the whole release with its stage boundaries and rollback, the total time and
who approved each stage, at the top of every rendering."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from rollout.project.specs import Stage
from rollout.release.history import (
    GATE_NONE,
    GATE_OPEN,
    GATE_REVIEWED,
    GATE_UNREAD,
    Approval,
    Entry,
    append,
    read,
)
from rollout.report.contents import Recorded, build_report
from rollout.report.glance import ROLLBACK, STAGE, Mark, ShareChange
from rollout.report.html import to_html
from rollout.report.markdown import to_markdown
from rollout.report.terminal import print_report

RELEASE = "m:2@green"
STAGES = [
    Stage(name="shadow", mirror=50, bake=60, environment="shadow"),
    Stage(name="canary", traffic=10, bake=60, environment="canary"),
    Stage(name="half", traffic=50, bake=60, environment="production-half"),
]


def step(
    step: str, name: str, outcome: str, started: str | None, ended: str, share: str, **more: object
) -> Entry:
    day = "2026-11-30T15:"
    return Entry(
        RELEASE,
        "ep",
        step,
        name,
        outcome,
        f"{day}{ended}+00:00",
        "green",
        "blue",
        share,
        started=f"{day}{started}+00:00" if started else None,
        **more,  # type: ignore[arg-type]
    )


HISTORY = [
    step("deploy", "deploy", "done", None, "00:00", "0"),
    step(
        "stage", "shadow", "pass", "01:00", "02:00", "m50", approval=Approval(GATE_OPEN, environment="shadow")
    ),
    step(
        "stage",
        "canary",
        "pass",
        "03:00",
        "04:00",
        "10",
        approval=Approval(GATE_REVIEWED, ["alice", "bob"], "canary", "ship it"),
        approver="alice, bob",
    ),
    step(
        "stage",
        "half",
        "fail",
        "05:00",
        "06:40",
        "50",
        rolled_back=True,
        approval=Approval(GATE_UNREAD, environment="production-half", why_unread="GitHub answered 403"),
    ),
]


def test_the_glance_steps_the_candidates_share_through_every_stage_and_the_rollback(
    rollout_home: Path,
) -> None:
    for entry in HISTORY:
        append(entry)
    assert read("ep") == HISTORY  # the approvals round-trip through the file
    glance = build_report(Recorded("ep", read("ep")), STAGES, stage="half").glance
    assert [e.name for e in glance.stages] == ["shadow", "canary", "half"]  # all, though one is shown
    assert glance.changes == [
        ShareChange(0, 0, False),
        ShareChange(60, 50, True),
        ShareChange(120, 0, False),  # the shadow's mirror off at its end, while the canary awaits approval
        ShareChange(180, 10, False),
        ShareChange(300, 50, False),
        ShareChange(400, 0, False),
    ]
    assert glance.marks == [
        Mark(60, STAGE, "shadow"),
        Mark(180, STAGE, "canary"),
        Mark(300, STAGE, "half"),
        Mark(400, ROLLBACK, "half rolled back"),
    ]
    assert glance.seconds == 400
    assert [c.percent for c in glance.samples(5)] == [0, 50, 10, 50, 0]  # at 0, 100, 200, 300, 400 s
    assert glance.share_at(150) == ShareChange(120, 0, False)


def test_the_markdown_opens_with_the_whole_release(rollout_home: Path) -> None:
    for entry in HISTORY:
        append(entry)
    text = to_markdown(build_report(Recorded("ep", read("ep")), STAGES, stage="half"))
    glance, _, details = text.partition("### Stage half: fail")
    assert details, text
    assert glance.startswith(f"### Release `{RELEASE}` at a glance\n")
    assert (
        "**shadow pass → canary pass → half fail (rolled back)** in 6 min 40 s, 2026-11-30 15:00:00 UTC"
        in glance
    )
    assert (
        "| shadow | pass | 50% mirrored | no approval in this run: environment shadow asks for no review "
        "(or was approved in another attempt) |" in glance
    )
    assert (
        "| canary | pass | 10% of traffic | approved by alice, bob on GitHub (environment canary): "
        '"ship it" |' in glance
    )
    assert "| half | fail (rolled back) | 50% of traffic | approver not read (GitHub answered 403)" in glance
    (chart,) = re.findall(r"```mermaid\n(.*?)```", glance, re.S)
    assert 'x-axis "seconds into the release" 0 --> 400' in chart
    values = [int(v) for v in re.search(r"line \[(.*)\]", chart).group(1).split(", ")]  # type: ignore[union-attr]
    assert values[0] == 0 and values[-1] == 0 and max(values) == 50 and 10 in values
    assert (
        "stages began: shadow at 60 s, canary at 180 s, half at 300 s; half rolled back at 400 s." in glance
    )


def test_the_terminal_report_opens_with_the_verdicts_the_share_and_the_approvals(rollout_home: Path) -> None:
    for entry in HISTORY:
        append(entry)
    out = io.StringIO()
    print_report(build_report(Recorded("ep", read("ep")), STAGES), Console(file=out, width=160))
    text = out.getvalue()
    assert text.index("At a glance: shadow pass → canary pass → half fail (rolled back)") < text.index(
        "Stage shadow: pass"
    )
    share = re.search(r"candidate's share, 0 to 100%: (.{60})\n.*?\^ stage, x rollback (.{60})", text, re.S)
    assert share, text
    line, ticks = share.groups()
    assert line[0] == "▁" and line[-1] == "▁" and "▅" in line  # 0%, then 50% (and back)
    assert ticks.count("^") == 3 and ticks.rstrip().endswith("x")
    assert "approved by alice, bob on GitHub" in text


def test_the_html_page_draws_the_share_with_its_boundaries_and_rollback(rollout_home: Path) -> None:
    for entry in HISTORY:
        append(entry)
    page = to_html(build_report(Recorded("ep", read("ep")), STAGES))
    assert page.index('id="glance"') < page.index('class="stage"')
    svg = re.search(r'<svg[^>]*data-chart="share".*?</svg>', page, re.S)
    assert svg
    marks = re.findall(r'data-kind="(\w+)" data-label="([^"]+)" data-at="([\d.]+)"', svg.group(0))
    assert marks == [
        ("stage", "shadow", "60"),
        ("stage", "canary", "180"),
        ("stage", "half", "300"),
        ("rollback", "half rolled back", "400"),
    ]
    assert "approved by alice, bob on GitHub (environment canary): &#34;ship it&#34;" in page


def test_a_stage_run_by_hand_needed_no_approval(rollout_home: Path) -> None:
    append(
        step(
            "stage",
            "canary",
            "pass",
            "03:00",
            "04:00",
            "10",
            approval=Approval(GATE_NONE, environment="canary"),
        )
    )
    text = to_markdown(build_report(Recorded("ep", read("ep")), STAGES))
    assert "| canary | pass | 10% of traffic | no approval needed: run by hand |" in text


def test_a_release_within_one_second_still_marks_its_stage_and_rollback(rollout_home: Path) -> None:
    quick = [
        step("deploy", "deploy", "done", None, "00:00", "0"),
        step("stage", "canary", "fail", "00:00", "00:00", "10"),
        step("rollback", "rollback", "done", None, "00:00", "0"),
    ]
    for entry in quick:
        append(entry)
    report = build_report(Recorded("ep", read("ep")), STAGES, stage="canary")
    assert report.glance.seconds == 0  # recorded to the second: no time axis to draw
    text = to_markdown(report)
    assert "```mermaid" not in text.partition("### Stage canary")[0]
    assert "stages began: canary at 0 s; rollback at 0 s." in text
    assert "stages began: canary at 0 s; rollback at 0 s." in to_html(report)
    out = io.StringIO()
    print_report(report, Console(file=out, width=120))
    assert "stages began: canary at 0 s; rollback at 0 s" in out.getvalue()
