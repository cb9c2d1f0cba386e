"""Fixtures for the GitHub side: the fake REST API, the environments script, the workflow CLI."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

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


@pytest.fixture(scope="session")
def configure_environments() -> ModuleType:
    """scripts/configure_environments.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(
        "configure_environments", REPO / "scripts" / "configure_environments.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def workflow_cli() -> Callable[..., Result]:
    """Invoke `rollout workflow ...` through the `rollout` app and return the result."""
    from rollout.cli import app

    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, ["workflow", *args], env=env)

    return invoke
