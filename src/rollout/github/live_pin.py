"""Which version a rehearsal puts live: the one asked for, else the plan's pin when the candidate
is another version, else the pin of the plan at a base commit (a pull request's base); none when
that pin is the candidate's (the pull request did not change the pin)."""

from __future__ import annotations

from pathlib import Path

from rollout.core.errors import UserError
from rollout.github.pin_change import pin_from_plan_text, plan_at
from rollout.project.layout import PLAN_FILE


def live_version(root: Path, candidate: int, asked: int | None, base: str) -> int | None:
    """The live version of a rehearsal of `candidate` in the project at `root`; None when the
    plan at `base` pins the candidate too (nothing to rehearse)."""
    if asked is not None:
        if asked == candidate:
            raise UserError(f"--live is version {candidate}, the candidate itself: nothing to rehearse")
        return asked
    pinned = pin_from_plan_text(_read(root / PLAN_FILE))
    if pinned is not None and pinned.version.isdigit() and int(pinned.version) != candidate:
        return int(pinned.version)
    before_text = plan_at(root, base, PLAN_FILE.as_posix())
    before = pin_from_plan_text(before_text) if before_text is not None else None
    if before is None or not before.version.isdigit():
        raise UserError(
            f"cannot tell the live version: the plan pins version {candidate} and {base} has no plan "
            "with a version pin; name it with --live"
        )
    return None if int(before.version) == candidate else int(before.version)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the release plan {path}: {exc.strerror}") from None
