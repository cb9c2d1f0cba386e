"""Pins a release skipped: versions the plan pinned after the one the endpoint serves and before
this release's, which never ran. GitHub keeps one pending run per concurrency group: while a
release runs, a newer push's run replaces the pending one, so a version pinned in between is
never released. The plan's git history says which.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from rollout.github.pin_change import PinAtCommit, pin_from_plan_text, plan_at


@dataclass(frozen=True)
class SkippedPin:
    """A pin of the plan that was never released, and the commit that pinned it."""

    pin: PinAtCommit
    commit: str
    subject: str

    def __str__(self) -> str:
        return f"{self.pin} ({self.commit[:7]} {self.subject!r})"


def skipped_pins(
    root: Path, plan_path: str, head: str, served: str, tried: str | None = None
) -> list[SkippedPin]:
    """The pins between the latest commit that pinned `served` (what the endpoint serves) and
    `head`, other than `served`, head's own pin and `tried` (a release that ran and was rolled back),
    each at the commit that first pinned it, oldest first; [] when the history does not reach a
    commit pinning `served`."""
    log = subprocess.run(
        ["git", "-C", str(root), "log", "--format=%H%x09%s", head, "--", plan_path],
        capture_output=True,
        text=True,
        check=False,
    )
    if log.returncode != 0:
        return []
    head_text = plan_at(root, head, plan_path)
    current = pin_from_plan_text(head_text) if head_text is not None else None
    found: list[SkippedPin] = []
    for line in log.stdout.splitlines():
        commit, _, subject = line.partition("\t")
        text = plan_at(root, commit, plan_path)
        pin = pin_from_plan_text(text) if text is not None else None
        if pin is None:
            continue
        if str(pin) == served:
            oldest_first: list[SkippedPin] = []
            for skipped in reversed(found):  # each pin once, at the commit that first pinned it
                if all(s.pin != skipped.pin for s in oldest_first):
                    oldest_first.append(skipped)
            return oldest_first
        if pin != current and str(pin) != tried:
            found.append(SkippedPin(pin, commit, subject))
    return []
