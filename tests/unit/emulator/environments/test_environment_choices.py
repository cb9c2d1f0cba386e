"""The Python an environment is built with, the cache key it is kept under, and requirement lines
as they are compared and hashed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rollout.emulator.environments import EnvironmentCache, environment_key
from rollout.emulator.environments import interpreters as interpreters_module
from rollout.emulator.environments.installer import Completed
from rollout.emulator.environments.interpreters import Interpreter, choose, discover, parse_version
from rollout.emulator.environments.requirements import differences, name_of, normalize

LINUX = "linux-x86_64-gnu"


def python(version: str, platform: str = LINUX) -> Interpreter:
    major, minor, patch = map(int, version.split("."))
    return Interpreter((major, minor, patch), Path(f"/opt/python{version}/bin/python3"), platform)


AVAILABLE = [python("3.9.18"), python("3.11.2"), python("3.11.7"), python("3.13.0")]


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [
        ("3.11.2", "3.11.2"),  # that very Python
        ("3.11.5", "3.11.7"),  # the same minor version, its newest patch
        ("3.11", "3.11.7"),
        ("3.10.4", "3.9.18"),  # as near as 3.11: the older one
        ("3.12", "3.11.7"),
        ("3.14.1", "3.13.0"),
        ("3.6", "3.9.18"),
    ],
)
def test_the_nearest_available_python_is_chosen(wanted, chosen):
    assert choose(wanted, AVAILABLE).interpreter.version_text == chosen


def test_another_minor_version_is_said_once():
    assert choose("3.11.2", AVAILABLE).warning is None
    assert choose("3.11.5", AVAILABLE).warning is None  # a patch apart: no difference worth a line
    assert choose("3.12", AVAILABLE).warning == (
        "Python 3.12 is not available here; built with Python 3.11.7, the nearest (Azure would use 3.12)"
    )


def test_no_python_wanted_is_the_python_rollout_runs_on():
    choice = choose(None, AVAILABLE, current=(3, 11, 2))
    assert (choice.interpreter.version_text, choice.warning) == ("3.11.2", None)
    assert choose(None, [python("3.13.0")], current=(3, 11, 2)).warning is None


def test_versions_are_read_leniently():
    assert parse_version("3.11.7") == (3, 11, 7)
    assert parse_version("3.9") == (3, 9, None)
    assert parse_version("3.10.4rc1") == (3, 10, 4)
    assert parse_version("latest") is None


def test_the_pythons_uv_lists_one_per_version(monkeypatch):
    def entry(version: str, path: str, **fields: str) -> dict:
        major, minor, patch = version.split(".")
        parts = {"major": int(major), "minor": int(minor), "patch": int(patch)}
        common = {
            "implementation": "cpython",
            "variant": "default",
            "os": "linux",
            "arch": "x86_64",
            "libc": "gnu",
        }
        return {**common, "version": version, "version_parts": parts, "path": path, **fields}

    listed = [
        entry("3.14.99", "/opt/a/python3.14"),
        entry("3.14.99", "/usr/bin/python3.14"),  # the same version again: the first one listed
        entry("3.13.0", "/opt/t/python3.13t", variant="freethreaded"),
        entry("3.10.14", "/opt/pypy/pypy3", implementation="pypy"),
    ]
    answer = Completed(0, json.dumps(listed), "warning: a broken shim", 0.1)
    monkeypatch.setattr(interpreters_module, "run_uv", lambda *args, **kwargs: answer)
    found = discover()
    assert found[0] == python_at("3.14.99", "/opt/a/python3.14")
    assert [interpreter.version_text for interpreter in found[1:]] == [
        ".".join(map(str, sys.version_info[:3]))  # rollout's own Python, when uv does not list it
    ]


def python_at(version: str, path: str) -> Interpreter:
    return Interpreter(python(version).version, Path(path), LINUX)


def test_the_cache_lives_in_the_state_directory_unless_told(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ROLLOUT_ENVIRONMENTS_DIR", raising=False)
    assert EnvironmentCache(interpreters=AVAILABLE).root == tmp_path / "home" / "environments"
    monkeypatch.setenv("ROLLOUT_ENVIRONMENTS_DIR", str(tmp_path / "shared"))
    assert EnvironmentCache(interpreters=AVAILABLE).root == tmp_path / "shared"


PINS = ["scikit-learn==1.9.1", "numpy>=2,<3", "mlflow[extras]==3.17.2"]


def test_one_requirement_set_on_one_python_is_one_key():
    key = environment_key(PINS, python("3.11.7"))
    respelled = ["Scikit_Learn == 1.9.1", "mlflow[EXTRAS]==3.17.2", "numpy<3,>=2", "numpy>=2,<3"]
    assert environment_key(respelled, python("3.11.7")) == key
    assert len(key) == 24 and key == key.lower()


@pytest.mark.parametrize(
    ("lines", "interpreter"),
    [
        (["scikit-learn==1.9.0", "numpy>=2,<3", "mlflow[extras]==3.17.2"], python("3.11.7")),  # a pin
        ([*PINS, "six"], python("3.11.7")),  # a package more
        (PINS, python("3.11.2")),  # another patch of Python
        (PINS, python("3.11.7", "linux-aarch64-gnu")),  # another platform
    ],
)
def test_another_pin_python_or_platform_is_another_key(lines, interpreter):
    assert environment_key(lines, interpreter) != environment_key(PINS, python("3.11.7"))


@pytest.mark.parametrize(
    ("line", "normalized"),
    [
        ("Scikit_Learn==1.9.1", "scikit-learn==1.9.1"),
        ("numpy <3 , >=2", "numpy<3,>=2"),
        ('pandas; python_version < "3.12"', 'pandas; python_version < "3.12"'),
        ("--extra-index-url   https://example.org/simple", "--extra-index-url https://example.org/simple"),
        ("not a requirement!", "not a requirement!"),
    ],
)
def test_requirement_lines_have_one_spelling(line, normalized):
    assert normalize(line) == normalized


def test_lists_are_compared_by_requirement():
    assert name_of("Scikit_Learn[alldeps]>=1") == "scikit-learn"
    assert name_of("-c constraints.txt") is None
    assert differences(["a==1", "B==2"], ["b==2", "a==2"]) == (["a==1"], ["a==2"])
