"""Fixtures for the GitHub side: the fake REST API, `rollout workflow` and `rollout github`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fake_github import FakeGitHub

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def github_api() -> Iterator[FakeGitHub]:
    """A fresh fake GitHub API on a free loopback port; no protocol violations allowed by default."""
    fake = FakeGitHub()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _group(name: str) -> Callable[..., Result]:
    """Invoke `rollout NAME ...` through the `rollout` app, in this process, and return the result."""
    from rollout.cli import app

    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, [name, *args], env=env)

    return invoke


@pytest.fixture(scope="session")
def workflow_cli() -> Callable[..., Result]:
    """`rollout workflow ...`"""
    return _group("workflow")


@pytest.fixture(scope="session")
def github_cli() -> Callable[..., Result]:
    """`rollout github ...`"""
    return _group("github")
