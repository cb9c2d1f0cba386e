"""The acceptance suite runs from the project's root with the caller's local state: `rollout release
--path <project>` from another folder reaches the emulator and registry it started, not new ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rollout.acceptance.launcher import run_suite
from rollout.core import paths

REPORT = (
    "import os, pathlib; pathlib.Path('seen').write_text(os.getcwd() + '\\n' + os.environ['ROLLOUT_HOME'])"
)


def test_the_suite_runs_in_the_project_with_the_callers_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    assert run_suite([sys.executable, "-c", REPORT], project) == 0
    cwd, home = (project / "seen").read_text().splitlines()
    assert Path(cwd) == project.resolve()
    assert Path(home) == (tmp_path / ".rollout").resolve()
