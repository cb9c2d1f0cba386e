"""The acceptance suite runs from the project's root with the caller's local state: `rollout release
--path <project>` from another folder reaches the emulator and registry it started, not new ones.
It runs in the caller's process, which finds its working directory and environment as they were."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollout.acceptance.launcher import run_suite
from rollout.core import paths

SEEN = """import os, pathlib

def test_seen():
    seen = [os.getcwd(), os.environ["ROLLOUT_HOME"], os.environ["EXTRA"]]
    pathlib.Path("seen").write_text("\\n".join(seen))
"""


def test_the_suite_runs_in_the_project_with_the_callers_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_seen.py").write_text(SEEN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.delenv("EXTRA", raising=False)
    assert run_suite(["-q", "-p", "no:cacheprovider", "test_seen.py"], project, {"EXTRA": "x"}) == 0
    cwd, home, extra = (project / "seen").read_text().splitlines()
    assert Path(cwd) == project.resolve()
    assert Path(home) == (tmp_path / ".rollout").resolve()
    assert extra == "x"
    # the caller's process as it was
    assert Path.cwd() == tmp_path
    assert paths.HOME_ENV not in os.environ and "EXTRA" not in os.environ


def test_a_failing_suite_gives_pytests_exit_code(tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text("def test_fails():\n    assert False\n")
    assert run_suite(["-q", "-p", "no:cacheprovider", "test_fails.py"], tmp_path) == 1
