"""Phrases every rendering of a report shares."""

from __future__ import annotations

from datetime import datetime

from rollout.release.history import (
    GATE_NONE,
    GATE_OPEN,
    GATE_PROMPT,
    GATE_REVIEWED,
    GATE_UNREAD,
    Entry,
    Split,
)
from rollout.report.contents import ReleaseReport
from rollout.report.glance import ROLLBACK, STAGE, Glance, ShareChange, duration_text

MARK = {True: "✅", False: "❌", None: "-"}  # a threshold met, missed, not judged
APPROVER_UNKNOWN = "approver not recorded (the run's page on GitHub shows who approved)"


def split_text(split: Split | None) -> str:
    if split is None:
        return "unknown"
    text = ", ".join(f"{name} {share}%" for name, share in sorted(split.traffic.items())) or "no traffic"
    if split.mirror:
        text += "; mirrored: " + ", ".join(f"{name} {share}%" for name, share in sorted(split.mirror.items()))
    return text


def time_text(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC") if iso else "unknown"


def when_text(entry: Entry) -> str:
    if entry.started:
        began, ended = datetime.fromisoformat(entry.started), datetime.fromisoformat(entry.ended)
        return f"{time_text(entry.started)} to {ended:%H:%M:%S} ({(ended - began).total_seconds():.0f} s)"
    return time_text(entry.ended)


def who_text(entry: Entry) -> str:
    if entry.from_tag:
        return "not recorded on the endpoint"
    ran = f"run by {entry.actor}" if entry.actor else "run by an unknown user"
    return f"{ran}; {approval_text(entry)}"


def approval_text(entry: Entry) -> str:
    """How the stage's gate was passed, and by whom."""
    a = entry.approval
    if a is None:  # recorded before gates were
        return f"approved by {entry.approver}" if entry.approver else APPROVER_UNKNOWN
    where = f" (environment {a.environment})" if a.environment else ""
    if a.gate == GATE_REVIEWED:
        said = f': "{a.comment}"' if a.comment else ""
        return f"approved by {', '.join(a.by)} on GitHub{where}{said}"
    if a.gate == GATE_OPEN:
        return (
            f"no approval in this run: environment {a.environment} asks for no review "
            "(or was approved in another attempt)"
        )
    if a.gate == GATE_PROMPT:
        return f"started at the prompt by {', '.join(a.by) or 'an unknown user'}"
    if a.gate == GATE_UNREAD:
        return f"approver not read ({a.why_unread}); the run's page on GitHub shows who approved"
    if a.gate == GATE_NONE:
        return "no approval needed: run by hand"
    return APPROVER_UNKNOWN


def share_text(share: str | None) -> str:
    if share is None:
        return "unknown"
    return f"{share[1:]}% mirrored" if share.startswith("m") else f"{share}% of traffic"


def step_rows(report: ReleaseReport) -> list[list[str]]:
    """The release's steps: name, outcome, what the candidate got, when it ended, who ran it."""
    return [
        [e.name, e.outcome, share_text(e.share), time_text(e.ended), e.actor or "-"] for e in report.steps
    ]


def change_text(change: ShareChange) -> str:
    return f"{change.percent}% mirrored" if change.mirrored else f"{change.percent}%"


def verdicts_text(glance: Glance) -> str:
    """Each stage's verdict in order: `shadow pass → canary fail (rolled back)`."""
    runs = [f"{e.name} {e.outcome}" + (" (rolled back)" if e.rolled_back else "") for e in glance.stages]
    return " → ".join(runs) or "no stage run yet"


def span_text(glance: Glance) -> str:
    """The release's total time and when it ran."""
    ended = datetime.fromisoformat(glance.ended)
    return f"{duration_text(glance.seconds)}, {time_text(glance.began)} to {ended:%H:%M:%S}"


def marks_text(glance: Glance) -> str:
    """When each stage began and any rollback happened, in seconds into the release."""
    stages = [f"{m.label} at {m.at:.0f} s" for m in glance.marks if m.kind == STAGE]
    rollbacks = [f"{m.label} at {m.at:.0f} s" for m in glance.marks if m.kind == ROLLBACK]
    text = "stages began: " + (", ".join(stages) or "none")
    return text + (f"; {', '.join(rollbacks)}" if rollbacks else "")


def glance_rows(glance: Glance) -> list[list[str]]:
    """A row per stage run: its name, verdict, what the candidate got, and how its gate was passed."""
    return [
        [
            e.name,
            e.outcome + (" (rolled back)" if e.rolled_back else ""),
            share_text(e.share),
            "not recorded on the endpoint" if e.from_tag else approval_text(e),
        ]
        for e in glance.stages
    ]
