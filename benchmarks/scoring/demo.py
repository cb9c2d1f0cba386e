"""Timing `scripts/demo.sh` (`make demo`) step by step, in a scratch copy of the project."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import ROOT

# The step of scripts/demo.sh that the "release rehearsal under 90 s" goal times.
DEMO_RELEASE_STEP = "Release version 2 through every stage"
STEP_MARK = re.compile(r"== (.+?)\x1b")  # the heading demo.sh prints as each step begins


@dataclass
class Demo:
    steps: dict[str, float]  # seconds per step of scripts/demo.sh, and "total"
    failure: str = ""  # the end of its output when it failed


def demo_seconds(scratch: Path) -> Demo:
    """`scripts/demo.sh` in a scratch copy of the project (its own registry): seconds per step."""
    copy = scratch / "project"
    ignore = shutil.ignore_patterns(".git", ".venv", ".rollout", "node_modules", "__pycache__", "*.egg-info")
    shutil.copytree(ROOT, copy, ignore=ignore, symlinks=True)
    (copy / ".venv").symlink_to(Path(sys.prefix))
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    log_path = scratch / "demo.log"
    try:
        returncode, steps = _timed_steps(copy, env, log_path)
    finally:
        subprocess.run(
            [str(copy / ".venv" / "bin" / "rollout"), "emulator", "stop"],
            cwd=copy,
            env=env,
            capture_output=True,
        )
    if returncode != 0:
        tail = log_path.read_text()[-3000:]
        print(f"scripts/demo.sh failed:\n{tail}", flush=True)
        return Demo(steps, tail.strip().splitlines()[-1] if tail.strip() else "no output")
    return Demo(steps)


def _timed_steps(copy: Path, env: dict[str, str], log_path: Path) -> tuple[int, dict[str, float]]:
    """Run demo.sh in `copy`, its output into `log_path`: its exit code and seconds per step."""
    steps: dict[str, float] = {}
    started = last = time.perf_counter()
    step = "start"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["bash", "scripts/demo.sh"],
            cwd=copy,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            match = STEP_MARK.search(line)
            if match:
                now = time.perf_counter()
                steps[step] = now - last
                step, last = match.group(1), now
        returncode = process.wait()
    steps[step] = time.perf_counter() - last
    steps["total"] = time.perf_counter() - started
    return returncode, steps
