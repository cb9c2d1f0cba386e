"""What the workflows install: `release-requirements.lock`, every package pinned with its hashes
(`pip install --require-hashes`), compiled from `release-requirements.txt` by LOCK_COMMAND, so a
project scaffolded by `rollout init` and this repository use the same step.

A new project pins the rollout that scaffolded it: from a git URL or an archive when it was
installed from one (pip records that in the distribution's `direct_url.json`), else by version.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from rollout import DISTRIBUTION

RELEASE_REQUIREMENTS = Path("release-requirements.txt")
RELEASE_LOCK = Path("release-requirements.lock")
# Compiles the lock for the workflows' runners (Linux x86-64, the Python they set up): rollout
# itself in it, pinned and hashed, as a project written by `rollout init` installs it.
LOCK_COMMAND = (
    f"uv pip compile {RELEASE_REQUIREMENTS} --generate-hashes --python-version 3.11 "
    f"--python-platform x86_64-manylinux_2_28 -o {RELEASE_LOCK}"
)
# rollout's own repository installs rollout from its checkout (`pip install --no-deps .`): its lock
# leaves rollout out.
REPOSITORY_LOCK_COMMAND = LOCK_COMMAND.replace(" -o ", f" --no-emit-package {DISTRIBUTION} -o ")

_HEADER = (
    f"# What the release workflows install, as the input of {RELEASE_LOCK}: every job installs the\n"
    f"# lock with `pip install --require-hashes`. Compile it after changing this file, and commit it:\n"
    f"#   {LOCK_COMMAND}\n"
)


def requirement(version: str, direct_url: dict[str, Any] | None) -> tuple[str, str | None]:
    """The requirement line for rollout as installed, and a note when it cannot be reproduced."""
    url = (direct_url or {}).get("url", "")
    vcs = (direct_url or {}).get("vcs_info")
    if vcs and url:
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        line = f"{DISTRIBUTION} @ {vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
        return line, (
            "pip cannot check a repository's hash: point this line at a package index or an archive "
            "URL for the lock's --require-hashes install"
        )
    if url and not url.startswith("file:"):
        return f"{DISTRIBUTION} @ {url}", None
    note = None
    if url:
        note = (
            f"{DISTRIBUTION} was installed from a local directory: point this line at where your team "
            f"installs it from (a package index, or an archive: `{DISTRIBUTION} @ https://.../<archive>`)"
        )
    return f"{DISTRIBUTION}=={version}", note


def installed_requirements() -> str:
    """`release-requirements.txt` for a new project: the rollout running this code, pinned, and pip."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
        version = dist.version
        recorded = dist.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        version, recorded = "0", None
    line, note = requirement(version, json.loads(recorded) if recorded else None)
    return (
        _HEADER
        + (f"# {note}\n" if note else "")
        + line
        + "\n# the installer, pinned and hashed in the lock too\npip\n"
    )
