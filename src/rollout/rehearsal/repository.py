"""The workflow rehearsal's repository and events: a git copy of the project and the webhook payloads
`act` (`rollout.rehearsal.act`) runs the real `.github/workflows/*.yml` for.

This module knows git and events, not the release engine. What a real repository already has
is prepared by `rollout.rehearsal.lab`: the model versions registered in a
private MLflow registry, the local emulator running on a private state directory, the endpoint
created with blue serving the old version. Then a git repository copy of the project is made
with two commits, before (the old model pin) and after (the new one), and `act` runs the
workflow on this machine for a real `push` event between them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout.rehearsal.act import ACTOR, RehearsalError

REPOSITORY = "acme/heart-models"
STAND_INS = Path("tools/act/actions")
# fake repository variables: the Azure ids the login stand-in checks (no cloud is reached)
AZURE_VARS = {
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
    "AZURE_TENANT_ID": "00000000-0000-0000-0000-0000000000te",
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000sub",
    "AZURE_RESOURCE_GROUP": "rehearsal-rg",
    "AZUREML_WORKSPACE": "rehearsal-ws",
}


# -- the repository and the event ------------------------------------------------------------------


def project_files(source: Path) -> list[str]:
    """The project's files as a clone would have them (tracked and new, not ignored)."""
    if not (source / ".git").exists():
        return sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    listed = _git(source, "ls-files", "--cached", "--others", "--exclude-standard", "-z").stdout
    return sorted(name for name in listed.split("\0") if name and (source / name).is_file())


def set_pin(plan_text: str, version: int) -> str:
    """The release plan's text with `model.version` set, nothing else changed."""
    changed, count = re.subn(r"(?m)^(  version:\s*)\S+", rf"\g<1>{version}", plan_text, count=1)
    if count != 1:
        raise RehearsalError("the release plan has no `  version:` line under model")
    return changed


@dataclass(frozen=True)
class Repo:
    path: Path
    before: str
    after: str


def make_repo(
    source: Path,
    dest: Path,
    before_pin: int,
    after: Callable[[Path], None],
    plan: str | None = "deployments/release.yml",
) -> Repo:
    """A git repository copy of the project: a commit with the old pin, then the pushed commit.

    `after` edits the copy's files (for example sets the new pin) before the second commit.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in project_files(source):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    if plan is not None:
        plan_file = dest / plan
        plan_file.write_text(set_pin(plan_file.read_text(), before_pin))
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", f"heart-classifier {before_pin} is live")
    before = _git(dest, "rev-parse", "HEAD").stdout.strip()
    after(dest)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "--allow-empty", "-m", "the pushed change")
    return Repo(dest, before, _git(dest, "rev-parse", "HEAD").stdout.strip())


def push_event(repo: Repo, ref: str = "refs/heads/main") -> dict[str, Any]:
    """A `push` webhook payload as GitHub sends it for `before..after` on `ref`."""
    owner, name = REPOSITORY.split("/")
    message = _git(repo.path, "log", "-1", "--format=%s", repo.after).stdout.strip()
    stamp = _git(repo.path, "log", "-1", "--format=%cI", repo.after).stdout.strip()
    commit = {
        "id": repo.after,
        "tree_id": _git(repo.path, "rev-parse", f"{repo.after}^{{tree}}").stdout.strip(),
        "distinct": True,
        "message": message,
        "timestamp": stamp,
        "url": f"https://github.com/{REPOSITORY}/commit/{repo.after}",
        "author": {"name": ACTOR, "email": f"{ACTOR}@example.com", "username": ACTOR},
        "committer": {"name": ACTOR, "email": f"{ACTOR}@example.com", "username": ACTOR},
    }
    return {
        "ref": ref,
        "before": repo.before,
        "after": repo.after,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{REPOSITORY}/compare/{repo.before[:12]}...{repo.after[:12]}",
        "commits": [commit],
        "head_commit": commit,
        "repository": {
            "name": name,
            "full_name": REPOSITORY,
            "private": True,
            "owner": {"login": owner, "name": owner},
            "default_branch": "main",
            "master_branch": "main",
            "html_url": f"https://github.com/{REPOSITORY}",
            "clone_url": f"https://github.com/{REPOSITORY}.git",
        },
        "pusher": {"name": ACTOR, "email": f"{ACTOR}@example.com"},
        "sender": {"login": ACTOR, "type": "User"},
    }


def dispatch_event(
    repo: Repo, inputs: dict[str, str] | None = None, ref: str = "refs/heads/main"
) -> dict[str, Any]:
    """A `workflow_dispatch` payload as GitHub sends it when someone runs a workflow by hand."""
    push = push_event(repo, ref)
    return {
        "ref": ref,
        "inputs": dict(inputs or {}),
        "repository": push["repository"],
        "sender": push["sender"],
        "workflow": "",
    }


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": ACTOR,
        "GIT_AUTHOR_EMAIL": f"{ACTOR}@example.com",
        "GIT_COMMITTER_NAME": ACTOR,
        "GIT_COMMITTER_EMAIL": f"{ACTOR}@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RehearsalError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result


def pin_to(version: int, plan: str = "deployments/release.yml") -> Callable[[Path], None]:
    """A change that sets the plan's model pin."""

    def change(root: Path) -> None:
        path = root / plan
        path.write_text(set_pin(path.read_text(), version))

    return change


def touch_plan_comment(plan: str = "deployments/release.yml") -> Callable[[Path], None]:
    """A change to the plan that leaves the pin alone."""

    def change(root: Path) -> None:
        path = root / plan
        path.write_text(path.read_text() + "# a comment that releases nothing\n")

    return change
