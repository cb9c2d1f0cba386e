"""Running uv (the `uv` package's own binary, not whatever `uv` is on PATH) and an environment's
Python, each with nothing of rollout's own environment leaking in.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# what would put another environment's packages on an interpreter's path, or make uv use one
LEAKING_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONEXECUTABLE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "UV_PROJECT_ENVIRONMENT",
    "UV_SYSTEM_PYTHON",
    "UV_PYTHON",
)
# what uv prints when it cannot reach the package index (as opposed to a resolution that fails)
NETWORK_FAILURE_MARKS = (
    "error sending request",
    "failed to fetch",
    "tcp connect error",
    "dns error",
    "connection refused",
    "operation timed out",
    "network is unreachable",
)
_TRIMMED_LINES = 30
_TRIMMED_CHARS = 4000


def uv_bin() -> str:
    """The uv binary rollout depends on (the `uv` package's)."""
    import uv

    return str(uv.find_uv_bin())


def isolated_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without what would leak rollout's packages into
    an environment's Python, with user site-packages off."""
    environ = {key: value for key, value in (os.environ if base is None else base).items()}
    for name in LEAKING_VARIABLES:
        environ.pop(name, None)
    environ["PYTHONNOUSERSITE"] = "1"
    return environ


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def network_failed(self) -> bool:
        """Whether uv failed because the package index was unreachable."""
        text = self.stderr.lower()
        return self.returncode != 0 and any(mark in text for mark in NETWORK_FAILURE_MARKS)


def run_uv(arguments: Sequence[str], *, cwd: Path, offline: bool = False) -> Completed:
    """`uv <arguments>` in `cwd` (away from any project's uv settings), never downloading a Python;
    `offline` adds `--offline` (uv's cache only)."""
    environ = isolated_environ()
    environ.update(UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    command = [uv_bin(), *arguments, *(["--offline"] if offline else [])]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, check=False)
    return Completed(completed.returncode, completed.stdout, completed.stderr, time.monotonic() - started)


def trimmed(stderr: str) -> str:
    """uv's message without its `Using Python ...` preamble, at most a screenful."""
    lines = [
        line for line in stderr.strip().splitlines() if line.strip() and not line.startswith("Using Python ")
    ]
    text = "\n".join(lines[:_TRIMMED_LINES])
    return text if len(text) <= _TRIMMED_CHARS else text[:_TRIMMED_CHARS] + " ..."
