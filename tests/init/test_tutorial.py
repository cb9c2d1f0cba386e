"""The tutorial (docs/tutorial.md) as a user follows it: its files written, its console blocks
marked `<!-- tutorial: run -->` executed in order in an empty directory against the release lab's
emulator and registry, each command's exit status 0 and the output the page shows found in what it
printed (numbers may differ; `...` stands for lines left out). Blocks that need GitHub or Azure
carry no marker and are not run. Before the first release, the plan written by `rollout init` gets
the release lab's analysis limits, which tell a healthy model from a faulty one on any machine
(its default 500 ms p95 bound is too tight for a model on busy shared cores), as the other `init`
journeys do."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from labs import Lab
from release_lab import FAST_PLAN

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
MARKER = re.compile(r"<!-- tutorial: (run|file (\S+)) -->")


@dataclass(frozen=True)
class Command:
    line: str  # what follows `$ `
    shown: list[str]  # the output the page shows under it


def steps(page: str) -> list[Command | tuple[str, str]]:
    """The page's marked blocks in order: a Command per `$ ` line of a run block, (name, text) per
    file block."""
    found: list[Command | tuple[str, str]] = []
    lines = page.splitlines()
    for index, line in enumerate(lines):
        marker = MARKER.fullmatch(line.strip())
        if marker is None:
            continue
        assert lines[index + 1].startswith("```"), f"a marker not followed by a fenced block: {line}"
        end = lines.index("```", index + 2)
        block = lines[index + 2 : end]
        if marker.group(2):
            found.append((marker.group(2), "\n".join(block) + "\n"))
            continue
        for text in block:
            if text.startswith("$ "):
                found.append(Command(text[2:], []))
            else:
                command = found[-1]
                assert isinstance(command, Command), f"output before any command: {text}"
                command.shown.append(text)
    return found


def pattern(shown: str) -> re.Pattern[str]:
    """A shown output line as a pattern: its numbers stand for any number."""
    parts = re.split(r"\d+(?:\.\d+)?", shown)
    return re.compile(r"\d+(?:\.\d+)?".join(re.escape(part) for part in parts))


def machine_independent_limits(project: Path) -> None:
    """The release lab's analysis limits in the plan `rollout init` wrote."""
    plan_file = project / "deployments" / "release.yml"
    plan = yaml.safe_load(plan_file.read_text())
    plan["analysis"] = {**plan["analysis"], **FAST_PLAN["analysis"]}
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))


def run(lab: Lab, command: Command, workdir: Path) -> tuple[int, str]:
    """A `rollout` command in this process, anything else in bash with this Python first on PATH."""
    if command.line.startswith("rollout "):
        result = lab.in_process(*shlex.split(command.line)[1:], cwd=workdir)
        return result.returncode, result.stdout + result.stderr
    env = {**lab.env(), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", command.line], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_the_tutorials_local_part_runs_as_written(lab: Lab, tmp_path: Path) -> None:
    found = steps(PAGE.read_text())
    commands = [step.line.split(" --")[0] for step in found if isinstance(step, Command)]
    assert commands[:4] == ["python train.py", "rollout model register", "rollout init", "rollout validate"]
    assert "rollout release" in commands
    released = False
    try:
        for step in found:
            if not isinstance(step, Command):
                (tmp_path / step[0]).write_text(step[1])
                continue
            if step.line.startswith("rollout release") and not released:
                machine_independent_limits(tmp_path)
                released = True
            status, output = run(lab, step, tmp_path)
            assert status == 0, f"$ {step.line}\n{output[-3000:]}"
            printed = output.splitlines()
            for shown in step.shown:
                if shown.strip() != "...":
                    assert any(pattern(shown).fullmatch(line.rstrip()) for line in printed), (
                        f"$ {step.line}: the page shows {shown!r}, not printed:\n{output[-3000:]}"
                    )
    finally:
        lab.remove_endpoint("progression")
