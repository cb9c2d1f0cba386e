"""`release-requirements.txt`: what every workflow job installs, here and in a scaffolded project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rollout.github.install import RELEASE_REQUIREMENTS, installed_requirements, requirement

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("direct_url", "line"),
    [
        (
            {"url": "https://github.com/acme/rollout", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
            "rollout @ git+https://github.com/acme/rollout@abc123",
        ),
        (
            {"url": "https://files.example.com/rollout-0.1.0.tar.gz", "archive_info": {}},
            "rollout @ https://files.example.com/rollout-0.1.0.tar.gz",
        ),
        (None, "rollout==0.1.0"),  # from an index
    ],
)
def test_a_new_project_pins_the_rollout_that_scaffolded_it(direct_url, line) -> None:
    assert requirement("0.1.0", direct_url) == (line, None)


def test_a_local_install_is_pinned_by_version_with_a_note_to_point_it_elsewhere() -> None:
    line, note = requirement("0.1.0", {"url": "file:///src/rollout", "dir_info": {"editable": True}})
    assert line == "rollout==0.1.0"
    assert note is not None and "git+https://" in note


def test_the_running_install_gives_a_requirements_file_pip_can_parse(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(installed_requirements())
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1 and lines[0].startswith("rollout")
    parsed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "-r", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Invalid requirement" not in parsed.stderr and "Traceback" not in parsed.stderr, parsed.stderr


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml"])
def test_every_job_installs_from_the_requirements_file_that_exists(name: str) -> None:
    assert (REPO / RELEASE_REQUIREMENTS).is_file()
    workflow = yaml.safe_load((REPO / ".github/workflows" / name).read_text())
    for job_id, job in workflow["jobs"].items():
        installs = [step for step in job["steps"] if step.get("name") == "Install rollout"]
        setups = [
            step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/setup-python@")
        ]
        assert [step["run"] for step in installs] == [f"python -m pip install -r {RELEASE_REQUIREMENTS}"], (
            job_id
        )
        assert [step["with"]["cache-dependency-path"] for step in setups] == [str(RELEASE_REQUIREMENTS)], (
            job_id
        )
