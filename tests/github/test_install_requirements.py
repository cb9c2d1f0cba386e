"""What every workflow job installs: `release-requirements.lock`, hashed, compiled from
`release-requirements.txt`, here and in a scaffolded project."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from rollout import DISTRIBUTION
from rollout.github.install import (
    LOCK_COMMAND,
    RELEASE_LOCK,
    RELEASE_REQUIREMENTS,
    REPOSITORY_LOCK_COMMAND,
    installed_requirements,
    requirement,
)

REPO = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;[^\\]*)?\s*\\$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}(\s*\\)?$")
INSTALL_LOCK = f"python -m pip install --require-hashes --no-deps -r {RELEASE_LOCK}"


def lock_entries() -> dict[str, tuple[str, int]]:
    """Every package of the lock: canonical name -> (version, number of hashes); each entry is
    `name==version \\` followed by its `--hash=sha256:` lines, and nothing else installs."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (REPO / RELEASE_LOCK).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if match := PINNED.match(line):
            current = canonicalize_name(match.group(1))
            entries[current] = (match.group(2), 0)
        else:
            assert HASH.match(line) and current is not None, f"not a pin or a hash: {line!r}"
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


def dependency_closure(name: str) -> set[str]:
    """The installed distributions `name` needs on this Python and platform, itself excluded."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for text in metadata.requires(todo.pop()) or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_every_locked_package_is_pinned_with_a_hash():
    entries = lock_entries()
    assert entries
    assert all(hashes >= 1 for _, hashes in entries.values()), [n for n, (_, h) in entries.items() if not h]


def test_the_lock_pins_the_installer_and_the_build_backend():
    entries = lock_entries()
    assert "pip" in entries and "setuptools" in entries
    assert f"pip=={entries['pip'][0]}" in (REPO / RELEASE_REQUIREMENTS).read_text()


def test_the_lock_covers_rollouts_dependencies_at_the_constrained_versions():
    entries = lock_entries()
    closure = dependency_closure(DISTRIBUTION)
    assert "mlflow" in closure and "jinja2" in closure
    assert sorted(closure - set(entries)) == []
    constraints = {
        canonicalize_name(name): version
        for name, version in (
            line.split("==", 1)
            for line in (REPO / "constraints.txt").read_text().splitlines()
            if "==" in line
        )
    }
    for name in closure:
        assert entries[name][0] == constraints[name], (
            f"{name}: lock {entries[name][0]}, constraints {constraints[name]}"
        )
        assert entries[name][0] == metadata.version(name), name
    assert DISTRIBUTION not in entries  # installed from the checkout, without dependencies


def test_the_lock_was_compiled_by_the_documented_command():
    assert REPOSITORY_LOCK_COMMAND in (REPO / RELEASE_LOCK).read_text()
    assert (
        REPOSITORY_LOCK_COMMAND.replace(f" -o {RELEASE_LOCK}", "")
        in (REPO / RELEASE_REQUIREMENTS).read_text()
    )
    assert REPOSITORY_LOCK_COMMAND in (REPO / "docs" / "development.md").read_text()
    assert LOCK_COMMAND in (REPO / "docs" / "installing.md").read_text()  # a team's project


def test_a_projects_lock_keeps_rollout_which_no_checkout_installs():
    # a project written by `rollout init` has no pyproject.toml: its jobs get rollout from the lock
    assert "--no-emit-package" not in LOCK_COMMAND
    assert f"--no-emit-package {DISTRIBUTION}" in REPOSITORY_LOCK_COMMAND


@pytest.mark.parametrize(
    ("direct_url", "line"),
    [
        (
            {"url": "https://files.example.com/rollout_azureml-0.1.0.tar.gz", "archive_info": {}},
            "rollout-azureml @ https://files.example.com/rollout_azureml-0.1.0.tar.gz",
        ),
        (None, "rollout-azureml==0.1.0"),  # from an index
    ],
)
def test_a_new_project_pins_the_rollout_that_scaffolded_it(direct_url, line) -> None:
    assert requirement("0.1.0", direct_url) == (line, None)


def test_a_git_install_is_pinned_by_commit_with_a_note_that_hashes_need_an_archive() -> None:
    git = {"url": "https://github.com/acme/rollout", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}
    line, note = requirement("0.1.0", git)
    assert line == "rollout-azureml @ git+https://github.com/acme/rollout@abc123"
    assert note is not None and "archive URL" in note


def test_a_local_install_is_pinned_by_version_with_a_note_to_point_it_elsewhere() -> None:
    line, note = requirement("0.1.0", {"url": "file:///src/rollout", "dir_info": {"editable": True}})
    assert line == "rollout-azureml==0.1.0"
    assert note is not None and "archive" in note


def test_the_running_install_gives_a_requirements_file_pip_can_parse(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(installed_requirements())
    text = path.read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith(DISTRIBUTION) and lines[1:] == ["pip"]
    assert LOCK_COMMAND in text
    parsed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "-r", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Invalid requirement" not in parsed.stderr and "Traceback" not in parsed.stderr, parsed.stderr


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml"])
def test_every_job_installs_the_lock_with_hashes_then_the_project_without_its_dependencies(name: str) -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows" / name).read_text())
    for job_id, job in workflow["jobs"].items():
        runs = [str(step.get("run", "")) for step in job["steps"]]
        installs = [run for run in runs if "pip install" in run]
        assert installs == [INSTALL_LOCK, "python -m pip install --no-deps --no-build-isolation ."], job_id
        setups = [
            step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/setup-python@")
        ]
        assert [step["with"]["cache-dependency-path"] for step in setups] == [str(RELEASE_LOCK)], job_id
