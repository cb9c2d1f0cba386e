"""`rollout acceptance` outside a project: one clear line and exit 1, not a pytest report."""

from __future__ import annotations

from typer.testing import CliRunner

from rollout.cli import app


def test_acceptance_without_a_project_names_the_missing_plan(tmp_path) -> None:
    result = CliRunner().invoke(app, ["acceptance", "--path", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "release.yml" in result.output
    assert "test_candidate.py" not in result.output and "Traceback" not in result.output
