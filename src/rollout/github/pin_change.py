"""Does a push release? Only when it changes the release plan's model pin (name or version).

A push that edits comments, stages or analysis limits of the plan does not release; a run started
by hand always does.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from rollout.errors import UserError

_NO_COMMIT = re.compile(r"^0*$")


@dataclass(frozen=True)
class PinAtCommit:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class PinDecision:
    """Whether to release, why, and the pin before and after the push."""

    release: bool
    reason: str
    before: PinAtCommit | None
    after: PinAtCommit


def pin_from_plan_text(text: str) -> PinAtCommit | None:
    """The `model.name` / `model.version` pin of a release plan's text, None if it has none."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or model.get("name") is None or model.get("version") is None:
        return None
    return PinAtCommit(str(model["name"]), str(model["version"]))


def _plan_at(root: Path, commit: str, plan_path: str) -> str | None:
    """The plan's text at a commit, or None when the commit or the file is not there."""
    result = subprocess.run(
        ["git", "-C", str(root), "show", f"{commit}:{plan_path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None


def _commit_known(root: Path, commit: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(root), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def decide(root: Path, plan_path: str, event: str, base: str, head: str) -> PinDecision:
    """Decide whether the run releases; `plan_path` is relative to the repository root."""
    head_text = _plan_at(root, head, plan_path)
    if head_text is None:
        raise UserError(f"the release plan {plan_path} is not in commit {head!r}")
    after = pin_from_plan_text(head_text)
    if after is None:
        raise UserError(f"the release plan {plan_path} at {head[:12]} has no model.name and model.version")
    if event == "workflow_dispatch":
        return PinDecision(True, f"Started by hand: releasing {after}.", None, after)
    if _NO_COMMIT.match(base.strip()):
        return PinDecision(True, f"No commit before this push: releasing {after}.", None, after)
    if not _commit_known(root, base):
        return PinDecision(
            True,
            f"The commit before the push ({base[:12]}) is not in this clone: releasing {after}.",
            None,
            after,
        )
    base_text = _plan_at(root, base, plan_path)
    before = pin_from_plan_text(base_text) if base_text is not None else None
    if before is None:
        return PinDecision(
            True, f"{plan_path} had no model pin at {base[:12]}: releasing {after}.", None, after
        )
    if before == after:
        return PinDecision(
            False, f"The model pin is still {after}: the push changed nothing to release.", before, after
        )
    return PinDecision(True, f"The model pin changed from {before} to {after}.", before, after)
