"""The environment cache remembers when each environment was last used, and lists the most recent
ones first: what an emulator warms when it starts (how many: `$ROLLOUT_EMULATOR_WARM_ENVIRONMENTS`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from rollout.emulator.environments import EnvironmentCache, EnvironmentSpec, environment_key
from rollout.emulator.environments.cache import FORMAT, LAST_USED_NAME, MANIFEST_NAME
from rollout.emulator.environments.failures import EnvironmentKind
from rollout.emulator.environments.interpreters import Interpreter
from rollout.emulator.host.config import WARM_ENVIRONMENTS_ENV, warm_environments_from_env

PYTHON = Interpreter(sys.version_info[:3], Path(sys.executable), "linux-x86_64-gnu")


def built(root: Path, key: str, built_at: float) -> Path:
    """A complete environment `key` in the cache at `root`, as a build leaves it (its manifest)."""
    path = root / key
    (path / "bin").mkdir(parents=True)
    manifest = path / MANIFEST_NAME
    manifest.write_text(json.dumps({"format": FORMAT, "key": key, "resolved": ["mlflow-skinny==3.1.0"]}))
    os.utime(manifest, (built_at, built_at))
    return path


def used(root: Path, key: str, at: float) -> None:
    marker = root / key / LAST_USED_NAME
    marker.touch()
    os.utime(marker, (at, at))


def test_the_most_recently_used_environments_come_first_within_the_limit(tmp_path):
    for key, built_at in (("a", 100), ("b", 200), ("c", 300), ("d", 400)):
        built(tmp_path, key, built_at)
    used(tmp_path, "a", 1000)
    used(tmp_path, "c", 900)
    cache = EnvironmentCache(tmp_path, interpreters=[PYTHON])
    assert [found.key for found in cache.recent(3)] == ["a", "c", "d"]  # d: never used, built at 400
    assert [found.key for found in cache.recent(10)] == ["a", "c", "d", "b"]
    assert cache.recent(0) == []
    assert all(
        found.cached and found.python == tmp_path / found.key / "bin" / "python" for found in cache.recent(4)
    )


def test_only_complete_environments_are_listed(tmp_path):
    built(tmp_path, "whole", 100)
    (tmp_path / "no-manifest").mkdir()
    (tmp_path / ".build-whole-123-abcd").mkdir()
    (tmp_path / ".whole.lock").touch()
    other_format = built(tmp_path, "old", 200)
    (other_format / MANIFEST_NAME).write_text(json.dumps({"format": FORMAT + 1, "key": "old"}))
    cache = EnvironmentCache(tmp_path, interpreters=[PYTHON])
    assert [found.key for found in cache.recent(5)] == ["whole"]
    assert EnvironmentCache(tmp_path / "none", interpreters=[PYTHON]).recent(2) == []


def test_a_deployment_finding_its_environment_cached_records_its_use(tmp_path):
    spec = EnvironmentSpec(EnvironmentKind.MLFLOW_MODEL, ("mlflow-skinny==3.1.0", "scikit-learn==1.5.2"))
    key = environment_key(spec.requirements, PYTHON)
    built(tmp_path, key, 100)
    built(tmp_path, "newer", 200)
    cache = EnvironmentCache(tmp_path, interpreters=[PYTHON])
    assert [found.key for found in cache.recent(1)] == ["newer"]
    assert cache.build(spec).cached
    assert [found.key for found in cache.recent(1)] == [key]
    cache.record_use("not-built")  # nothing to record: no environment appears
    assert not (tmp_path / "not-built").exists()


@pytest.mark.parametrize(("raw", "expected"), [(None, 2), ("", 2), ("0", 0), (" 3 ", 3)])
def test_how_many_environments_an_emulator_warms(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv(WARM_ENVIRONMENTS_ENV, raising=False)
    else:
        monkeypatch.setenv(WARM_ENVIRONMENTS_ENV, raw)
    assert warm_environments_from_env() == expected


def test_a_warm_count_that_is_not_a_number_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv(WARM_ENVIRONMENTS_ENV, "-1")
    with pytest.raises(ValueError, match=r"ROLLOUT_EMULATOR_WARM_ENVIRONMENTS must be a number .* not '-1'"):
        warm_environments_from_env()
