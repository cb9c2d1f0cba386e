"""`rollout --version`: the installed distribution's version, and nothing else runs."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

from rollout import DISTRIBUTION, __version__
from rollout.cli import app


def test_version_prints_the_installed_version_and_exits() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"rollout {version(DISTRIBUTION)}\n"
    assert version(DISTRIBUTION) == __version__  # the package and its metadata say the same
