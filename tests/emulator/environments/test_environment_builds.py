"""Building environments with uv into the cache: the manifest and resolved set, cache hits without
uv, a rebuild with the package index unreachable, failures with uv's message, concurrent builds of
one key, the nearest Python."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rollout.emulator.environments import (
    BuildOptions,
    EnvironmentBuildFailed,
    EnvironmentCache,
    EnvironmentKind,
    EnvironmentSpec,
    for_custom_environment,
    isolated_environ,
)
from rollout.emulator.environments import build as build_module
from rollout.emulator.environments.cache import MANIFEST_NAME
from rollout.emulator.environments.interpreters import running_interpreter

SIX = for_custom_environment({"dependencies": ["pip", {"pip": ["six==1.16.0"]}]})


def run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", code], env=isolated_environ(), capture_output=True, text=True, check=False
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cut_off_index(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Makes the package index unreachable: behind a proxy that refuses every connection (the index
    URL unchanged, since uv keys its package cache by it), uv trying once."""

    def cut_off() -> None:
        proxy = f"http://127.0.0.1:{closed_port()}"
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("UV_HTTP_RETRIES", "0")

    return cut_off


def test_a_build_records_what_it_resolved(cache, progress):
    built = cache.build(SIX, BuildOptions(progress=progress.append))
    assert (built.resolved, built.cached, built.warnings) == (["six==1.16.0"], False, [])
    assert built.path == cache.root / built.key == cache.root / cache.key_for(SIX)
    manifest = json.loads((built.path / MANIFEST_NAME).read_text())
    assert manifest["resolved"] == ["six==1.16.0"]
    assert (manifest["requirements"], manifest["kind"], manifest["offline"]) == (
        ["six==1.16.0"],
        "custom",
        False,
    )
    assert manifest["interpreter"] == cache.interpreter_for(SIX).interpreter.identity
    assert run(built.python, "import six; print(six.__version__)").stdout.strip() == "1.16.0"
    assert progress[0] == f"environment {built.key}: building from the environment's conda file"
    assert progress[1].startswith("resolving 1 requirement with Python 3.")
    assert progress[2].startswith("installed 1 package in ")
    assert [path.name for path in cache.root.iterdir() if not path.name.endswith(".lock")] == [built.key]


def test_a_built_key_is_reused_without_uv(cache, progress, monkeypatch):
    first = cache.build(SIX)

    def no_uv(*args: object, **kwargs: object) -> None:
        raise AssertionError("uv ran for a cached environment")

    monkeypatch.setattr(build_module, "run_uv", no_uv)
    again = EnvironmentCache(cache.root, interpreters=cache.interpreters()).build(
        SIX, BuildOptions(progress=progress.append)
    )
    assert (again.path, again.resolved, again.cached) == (first.path, first.resolved, True)
    assert progress == [f"environment {first.key}: cached (1 package)"]


def test_a_deleted_environment_is_rebuilt_with_the_index_unreachable(cache, progress, cut_off_index):
    built = cache.build(SIX)
    shutil.rmtree(built.path)
    cut_off_index()
    rebuilt = cache.build(SIX, BuildOptions(progress=progress.append))
    assert (rebuilt.path, rebuilt.resolved, rebuilt.cached) == (built.path, ["six==1.16.0"], False)
    assert "the package index is unreachable: installing from uv's package cache" in progress
    assert json.loads((rebuilt.path / MANIFEST_NAME).read_text())["offline"] is True
    assert run(rebuilt.python, "import six").returncode == 0


def test_offline_when_asked_never_tries_the_index(cache, progress, cut_off_index):
    shutil.rmtree(cache.build(SIX).path)
    cut_off_index()
    built = cache.build(SIX, BuildOptions(offline=True, progress=progress.append))
    assert built.resolved == ["six==1.16.0"]
    assert not any("unreachable" in line for line in progress)
    missing = EnvironmentSpec(EnvironmentKind.CUSTOM, ("rollout-test-no-such-package",), source="conda.yaml")
    with pytest.raises(EnvironmentBuildFailed) as failed:
        cache.build(missing, BuildOptions(offline=True))
    assert failed.value.message.startswith(
        "conda.yaml: offline, and uv's package cache cannot serve every package:\n"
    )
    assert "rollout-test-no-such-package was not found in the cache" in failed.value.message


@pytest.mark.parametrize(
    ("kind", "line", "said", "code"),
    [
        (EnvironmentKind.MLFLOW_MODEL, "six==999.0", "there is no version of six==999.0", "ResourceNotReady"),
        (
            EnvironmentKind.CUSTOM,
            "rollout-test-no-such-package",
            "rollout-test-no-such-package was not found in the package registry",
            "ImageBuildFailure",
        ),
    ],
)
def test_a_failed_build_raises_uvs_message_and_leaves_nothing(cache, kind, line, said, code):
    spec = EnvironmentSpec(kind, ("packaging==24.2", line), source="conda.yaml of model")
    with pytest.raises(EnvironmentBuildFailed) as failed:
        cache.build(spec)
    assert failed.value.message.startswith("conda.yaml of model: error: No solution found when resolving")
    unwrapped = " ".join(failed.value.message.split())  # uv wraps its explanation to a width
    assert said in unwrapped and "Using Python" not in unwrapped
    assert (failed.value.kind, failed.value.azure_code) == (kind, code)
    assert [path.name for path in cache.root.iterdir() if not path.name.endswith(".lock")] == []


def test_two_processes_building_one_key_share_one_build(cache):
    """Both processes reach the key's lock while the test holds it; once it is free one builds and
    the other finds the environment built."""
    import fcntl

    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from rollout.emulator.environments import EnvironmentCache, for_custom_environment
        spec = for_custom_environment({"dependencies": [{"pip": ["six==1.16.0"]}]})
        built = EnvironmentCache(Path(sys.argv[1])).build(spec)
        print(json.dumps({"path": str(built.path), "cached": built.cached, "resolved": built.resolved}))
        """
    )
    key = cache.key_for(SIX)
    cache.root.mkdir(parents=True)
    with open(cache.root / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(cache.root)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        time.sleep(2.5)  # both started, found nothing built, and wait for the lock
        assert all(worker.poll() is None for worker in workers)
    results = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    assert sorted(result["cached"] for result in results) == [False, True]
    assert {result["path"] for result in results} == {str(cache.root / key)}
    assert all(result["resolved"] == ["six==1.16.0"] for result in results)
    assert sorted(path.name for path in cache.root.iterdir()) == [f".{key}.lock", key]
    assert run(cache.root / key / "bin" / "python", "import six").returncode == 0


def test_a_python_not_here_is_built_with_the_nearest_and_said_once(tmp_path):
    here = running_interpreter()
    cache = EnvironmentCache(tmp_path / "environments", interpreters=[here])
    older = f"{here.version[0]}.{here.version[1] - 3}"
    spec = for_custom_environment({"dependencies": [f"python={older}", {"pip": ["six==1.16.0"]}]})
    built = cache.build(spec)
    assert built.warnings == [
        f"Python {older} is not available here; built with Python {here.version_text}, the nearest "
        f"(Azure would use {older})"
    ]
    assert run(built.python, "import sys; print(sys.version.split()[0])").stdout.strip() == here.version_text
    assert cache.build(spec).warnings == built.warnings  # a cache hit says it too


def test_rollouts_own_python_does_not_leak_in(cache):
    """rollout's environment has xgboost; an environment whose requirements omit it cannot import it,
    even with rollout's site-packages on PYTHONPATH in the caller's environment."""
    import importlib.util
    import site

    assert importlib.util.find_spec("xgboost") is not None
    built = cache.build(SIX)
    leaking = {**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages())}
    check = "import importlib.util, sys; sys.exit(importlib.util.find_spec('xgboost') is None)"
    assert subprocess.run([str(built.python), "-c", check], env=leaking, check=False).returncode == 0
    isolated = subprocess.run(
        [str(built.python), "-c", "import xgboost"],
        env=isolated_environ(leaking),
        capture_output=True,
        text=True,
    )
    assert isolated.returncode == 1
    assert "ModuleNotFoundError: No module named 'xgboost'" in isolated.stderr
    paths = run(built.python, "import sys; print('\\n'.join(sys.path))").stdout.split()
    assert not any(path.startswith(sys.prefix) for path in paths)
    assert str(built.path / "lib") in "\n".join(paths)
