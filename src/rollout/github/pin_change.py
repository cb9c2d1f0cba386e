"""Does a push release? When the pinned model (name or version) is not what the endpoint serves.

The endpoint is the truth: its traffic and release tags (`rollout status --json`) say what it
serves and whether a release is under way. A pin that differs from what is served, and is not
already the candidate of a release in progress, releases, even when the commit before the push had
the same pin: GitHub keeps one pending run per concurrency group, so a version bump followed by an
unrelated edit may never have run. Without what the endpoint serves, the pin is compared with the
commit before the push. A push that edits comments, stages or analysis limits of the plan does
not release; a run started by hand always does.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rollout.core.errors import UserError

_NO_COMMIT = re.compile(r"^0*$")


@dataclass(frozen=True)
class PinAtCommit:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class Push:
    """What triggered the run: the event (github.event_name), the commit before the push
    (github.event.before) and the pushed commit."""

    event: str
    base: str
    head: str


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


def plan_at(root: Path, commit: str, plan_path: str) -> str | None:
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


def against_served(served: dict[str, Any], after: PinAtCommit, before: PinAtCommit | None) -> PinDecision:
    """Decide from what the endpoint serves (`rollout status --json`, or `exists: false`)."""
    endpoint = served.get("endpoint") or "the endpoint"
    if served.get("exists") is False:
        return PinDecision(True, f"{endpoint} does not exist yet: a first release of {after}.", before, after)
    pin = str(after)
    if served.get("candidate"):
        stage = served.get("stage") or "none passed yet"
        if served.get("release") == pin and str(served.get("verdict") or "").startswith("rolled back"):
            return PinDecision(
                False,
                f"{pin} was rolled back on {endpoint} ({served['candidate']}): pin another version, "
                "or start the release by hand to try it again.",
                before,
                after,
            )
        if served.get("release") == pin:
            return PinDecision(
                False,
                f"{pin} is already the candidate of the release in progress on {endpoint} "
                f"(in {served['candidate']}; stage {stage}): nothing new to release.",
                before,
                after,
            )
        return PinDecision(
            True,
            f"A release of {served.get('release')} is in progress on {endpoint}; the plan pins {pin}.",
            before,
            after,
        )
    live = served.get("live")
    models = {d.get("name"): d.get("model") for d in served.get("deployments") or []}
    serving = models.get(live) if live else None
    if serving == pin:
        still = before is not None and before == after
        return PinDecision(
            False,
            (f"The model pin is still {pin} and " if still else f"The plan pins {pin}; ")
            + f"{endpoint} serves it ({live}): nothing to release.",
            before,
            after,
        )
    changed = "" if before is None or before == after else f" (the push changed the pin from {before})"
    return PinDecision(
        True,
        f"{endpoint} serves {serving or 'nothing'}, the plan pins {pin}{changed}: releasing {pin}.",
        before,
        after,
    )


def decide(root: Path, plan_path: str, push: Push, served: dict[str, Any] | None = None) -> PinDecision:
    """Decide whether the run releases; `plan_path` is relative to the repository root.

    `served` is what the endpoint serves (`rollout status --json`); it decides when given.
    """
    event, base, head = push.event, push.base, push.head
    head_text = plan_at(root, head, plan_path)
    if head_text is None:
        raise UserError(f"the release plan {plan_path} is not in commit {head!r}")
    after = pin_from_plan_text(head_text)
    if after is None:
        raise UserError(f"the release plan {plan_path} at {head[:12]} has no model.name and model.version")
    if event == "workflow_dispatch":
        return PinDecision(True, f"Started by hand: releasing {after}.", None, after)
    if served is not None:
        return against_served(served, after, _pin_before(root, plan_path, base))
    if _NO_COMMIT.match(base.strip()):
        return PinDecision(True, f"No commit before this push: releasing {after}.", None, after)
    if not _commit_known(root, base):
        return PinDecision(
            True,
            f"The commit before the push ({base[:12]}) is not in this clone: releasing {after}.",
            None,
            after,
        )
    base_text = plan_at(root, base, plan_path)
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


def _pin_before(root: Path, plan_path: str, base: str) -> PinAtCommit | None:
    if _NO_COMMIT.match(base.strip()) or not _commit_known(root, base):
        return None
    text = plan_at(root, base, plan_path)
    return pin_from_plan_text(text) if text is not None else None
