"""The lab every end-to-end test shares: a private ROLLOUT_HOME with its registry and emulator.

It is the product's rehearsal lab: `Lab.home` holds the MLflow registry (`mlflow.db`), its
artifacts and the emulator's state directory, and `connection()` starts the emulator on first use.
Commands run as a user runs them, either as processes (`rollout`) or in this process
(`in_process`, the same typer app without a process start).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rollout.rehearsal import lab as rehearsal_lab

# the caller's own registry and step outputs must not reach the lab's commands
# a suite run in GitHub Actions does not make its commands GitHub jobs (reading the run's approvals)
_DROPPED = ("MLFLOW_TRACKING_URI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "GITHUB_TOKEN")


@dataclass(frozen=True)
class Result:
    """A command's exit code and output."""

    returncode: int
    stdout: str
    stderr: str


class Lab(rehearsal_lab.Lab):
    """The product's lab (`rollout.rehearsal.lab.Lab`) with the ways tests run commands in it."""

    def env(self) -> dict[str, str]:
        """Environment for `rollout` commands run as processes against this lab."""
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        return {**env, "ROLLOUT_HOME": str(self.home)}

    def rollout(self, *args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
        """`rollout ARGS` as a process, in `cwd`."""
        return subprocess.run(
            [sys.executable, "-m", "rollout", *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def in_process(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        """`rollout ARGS` run in this process (in `cwd`, with `env` added, if given): the same app,
        without a process start."""
        from typer.testing import CliRunner

        from rollout.cli import app

        env = {"ROLLOUT_HOME": str(self.home), **dict.fromkeys(_DROPPED), **(env or {})}
        with contextlib.chdir(cwd or Path.cwd()):
            result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)  # type: ignore[arg-type]
        return Result(result.exit_code, result.stdout, result.stderr)

    def remove_endpoint(self, name: str) -> None:
        """Delete an endpoint and its deployments, if it exists: a test's instances stop with it."""
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            self.connection().ml.online_endpoints.begin_delete(name).result()
