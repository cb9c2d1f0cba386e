"""The release at a glance, which every report opens with: each stage's verdict in order, the
candidate's share of traffic (or of the mirror) over the whole release with the stage boundaries
and any rollback marked, the total time, and who approved each stage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rollout.release.history import Entry

STAGE, ROLLBACK = "stage", "rollback"


@dataclass(frozen=True)
class ShareChange:
    """From `at` seconds into the release, the candidate gets `percent` (of live traffic, or of
    the mirrored copies when `mirrored`)."""

    at: float
    percent: int
    mirrored: bool


@dataclass(frozen=True)
class Mark:
    """A moment of the release worth drawing: a stage beginning, or a rollback."""

    at: float
    kind: str  # STAGE or ROLLBACK
    label: str


@dataclass(frozen=True)
class Glance:
    stages: list[Entry]  # every recorded stage run, in order
    changes: list[ShareChange]  # the candidate's share, a step function of time
    marks: list[Mark]
    seconds: float  # from the first step's start to the last step's end
    began: str  # ISO 8601, UTC
    ended: str

    def share_at(self, at: float) -> ShareChange:
        """The candidate's share `at` seconds into the release."""
        current = ShareChange(0.0, 0, False)
        for change in self.changes:
            if change.at > at:
                break
            current = change
        return current

    def samples(self, count: int) -> list[ShareChange]:
        """The share at `count` evenly spaced moments, from the start to the end of the release."""
        last = max(count - 1, 1)
        return [self.share_at(self.seconds * i / last) for i in range(count)]


def parse_share(share: str | None) -> tuple[int, bool]:
    """A recorded share ("10", or "m50" when mirrored) as its percent and whether it is mirrored."""
    if not share:
        return 0, False
    mirrored = share.startswith("m")
    digits = share[1:] if mirrored else share
    return (int(digits) if digits.isdigit() else 0), mirrored


def glance_of(steps: list[Entry]) -> Glance:
    """The glance at a release from its recorded steps (oldest first, at least one)."""
    began = steps[0].started or steps[0].ended
    start = datetime.fromisoformat(began)

    def at(iso: str) -> float:
        return max(0.0, (datetime.fromisoformat(iso) - start).total_seconds())

    changes: list[ShareChange] = []
    marks: list[Mark] = []
    for e in steps:
        if e.step == STAGE:
            percent, mirrored = parse_share(e.share)
            marks.append(Mark(at(e.started or e.ended), STAGE, e.name))
            changes.append(ShareChange(at(e.started or e.ended), percent, mirrored))
            if e.rolled_back:
                marks.append(Mark(at(e.ended), ROLLBACK, f"{e.name} rolled back"))
                changes.append(ShareChange(at(e.ended), 0, False))
            elif mirrored:  # a shadow stage turns its mirror off when it ends
                changes.append(ShareChange(at(e.ended), 0, False))
        elif e.step == ROLLBACK:
            marks.append(Mark(at(e.ended), ROLLBACK, "rollback"))
            changes.append(ShareChange(at(e.ended), 0, False))
        elif e.step == "deploy":
            changes.append(ShareChange(at(e.ended), 0, False))
    ended = max(e.ended for e in steps)
    return Glance(
        stages=[e for e in steps if e.step == STAGE],
        changes=changes,
        marks=marks,
        seconds=at(ended),
        began=began,
        ended=ended,
    )


def duration_text(seconds: float) -> str:
    """A duration as people say it: 45 s, 12 min 5 s, 2 h 3 min."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
