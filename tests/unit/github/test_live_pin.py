"""Which version a rehearsal puts live: --live, else the plan's pin, else the pin at the base commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rollout.core.errors import UserError
from rollout.github.live_pin import live_version
from rollout.project.layout import PLAN_FILE


def _pin(root: Path, version: int) -> None:
    plan = root / PLAN_FILE
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text(f"model:\n  name: heart-classifier\n  version: {version}\n")


def _commit(root: Path) -> None:
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "pin"], check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _pin(tmp_path, 1)
    _commit(tmp_path)
    return tmp_path


def test_the_live_version_named_wins(repo: Path) -> None:
    assert live_version(repo, 3, 2, "HEAD") == 2


def test_the_plans_pin_is_live_while_the_candidate_is_another_version(repo: Path) -> None:
    assert live_version(repo, 2, None, "HEAD") == 1


def test_a_plan_pinning_the_candidate_takes_the_pin_at_the_base(repo: Path) -> None:
    _pin(repo, 2)
    _commit(repo)
    assert live_version(repo, 2, None, "HEAD~1") == 1


def test_no_live_version_or_the_candidate_itself(repo: Path) -> None:
    assert live_version(repo, 1, None, "HEAD") is None  # the pin did not change: nothing to rehearse
    _pin(repo, 2)
    with pytest.raises(UserError, match=r"cannot tell the live version: .* nope has no plan"):
        live_version(repo, 2, None, "nope")
    with pytest.raises(UserError, match="--live is version 2, the candidate itself"):
        live_version(repo, 2, 2, "HEAD")
