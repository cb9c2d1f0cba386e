"""What the workflows install: `release-requirements.txt`, one file every job installs with
`pip install -r`, so a project scaffolded by `rollout init` and this repository use the same step.

A new project pins the rollout that scaffolded it: from a git URL or an archive when it was
installed from one (pip records that in the distribution's `direct_url.json`), else by version.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

RELEASE_REQUIREMENTS = Path("release-requirements.txt")
DISTRIBUTION = "rollout"

_HEADER = "# What the release workflows install (`pip install -r release-requirements.txt` in every job).\n"


def requirement(version: str, direct_url: dict[str, Any] | None) -> tuple[str, str | None]:
    """The requirement line for rollout as installed, and a note when it cannot be reproduced."""
    url = (direct_url or {}).get("url", "")
    vcs = (direct_url or {}).get("vcs_info")
    if vcs and url:
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"{DISTRIBUTION} @ {vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else ""), None
    if url and not url.startswith("file:"):
        return f"{DISTRIBUTION} @ {url}", None
    note = None
    if url:
        note = (
            "rollout was installed from a local directory: point this line at where your team "
            f"installs it from (a package index, or `{DISTRIBUTION} @ git+https://...@<commit>`)"
        )
    return f"{DISTRIBUTION}=={version}", note


def installed_requirements() -> str:
    """`release-requirements.txt` for a new project: the rollout running this code, pinned."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
        version = dist.version
        recorded = dist.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        version, recorded = "0", None
    line, note = requirement(version, json.loads(recorded) if recorded else None)
    return _HEADER + (f"# {note}\n" if note else "") + line + "\n"
