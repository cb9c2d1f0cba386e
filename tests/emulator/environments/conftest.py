"""Environments built for real, with the uv rollout depends on and packages from the package index
(tiny ones: a fresh machine downloads little), each test in a cache of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.emulator.environments import EnvironmentCache
from rollout.emulator.environments.interpreters import Interpreter, discover


@pytest.fixture(scope="session")
def interpreters() -> tuple[Interpreter, ...]:
    """The Pythons on this machine (uv asked once per session)."""
    return discover()


@pytest.fixture
def cache(tmp_path: Path, interpreters: tuple[Interpreter, ...]) -> EnvironmentCache:
    return EnvironmentCache(tmp_path / "environments", interpreters=interpreters)


@pytest.fixture
def progress() -> list[str]:
    """The progress lines a build reports (pass `lines.append` as the callback)."""
    return []
