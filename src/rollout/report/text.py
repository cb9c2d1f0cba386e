"""Phrases every rendering of a report shares."""

from __future__ import annotations

from datetime import datetime

from rollout.release.history import Entry, Split
from rollout.report.contents import ReleaseReport

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
    approved = f"approved by {entry.approver}" if entry.approver else APPROVER_UNKNOWN
    return f"{ran}; {approved}"


def share_text(share: str | None) -> str:
    if share is None:
        return "unknown"
    return f"{share[1:]}% mirrored" if share.startswith("m") else f"{share}% of traffic"


def step_rows(report: ReleaseReport) -> list[list[str]]:
    """The release's steps: name, outcome, what the candidate got, when it ended, who ran it."""
    return [
        [e.name, e.outcome, share_text(e.share), time_text(e.ended), e.actor or "-"] for e in report.steps
    ]
