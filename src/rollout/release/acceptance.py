"""Running the project's acceptance suite (`tests/acceptance`) against a candidate, in a child pytest
that reaches the same target."""

from __future__ import annotations

import os
import subprocess
import sys

from rollout.errors import UserError
from rollout.project.layout import ACCEPTANCE_SUITE
from rollout.release.results import DeployResult
from rollout.release.steps import Release


def run_acceptance_suite(release: Release, deployed: DeployResult) -> None:
    """Run the suite against the candidate; a UserError when it fails (no traffic was moved)."""
    candidate, live = deployed.candidate, deployed.live
    if candidate is None:
        return
    root = release.project.root
    suite = root / ACCEPTANCE_SUITE
    if not suite.is_dir():
        raise UserError(f"no acceptance suite at {suite}; pass --skip-acceptance to release without one")
    target = release.conn.target
    command = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider"]
    command += ["--target", target.name, "--endpoint", release.endpoint_name, "--deployment", candidate]
    if live:
        command += ["--live", live]
    release.say(f"acceptance suite against {candidate}")
    # the child finds the same workspace: options given as flags travel as environment variables
    env = {**os.environ, **target.child_environment()}
    if subprocess.run(command, cwd=root, env=env).returncode != 0:
        raise UserError(f"the acceptance suite failed against {candidate}; no traffic was moved")
