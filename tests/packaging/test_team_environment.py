"""rollout installs into the environment where a team trains its models without replacing its data
libraries: a fresh venv holding scikit-learn 1.5.2 and pandas 2.2.3, and uv's dry run of installing
this checkout into it (the same resolution pip makes: what is installed and satisfies the ranges
stays)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import uv

from rollout import DISTRIBUTION

REPO = Path(__file__).resolve().parents[2]
TEAM = {"scikit-learn": "1.5.2", "pandas": "2.2.3"}
CHANGE = re.compile(r"^ ([-+]) ([A-Za-z0-9._-]+)(?:==(\S+)| @ (\S+))$")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([uv.find_uv_bin(), *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def team_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the team's versions of the data libraries (and what they need)."""
    venv = tmp_path_factory.mktemp("team") / "venv"
    run("venv", "--quiet", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    run("pip", "install", "--quiet", "--python", str(python), *(f"{n}=={v}" for n, v in TEAM.items()))
    return python


def project_copy(root: Path) -> Path:
    """What a build of rollout reads, away from the checkout (a build writes its metadata there)."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, root / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", root / "src", ignore=ignore)
    return root


def test_installing_rollout_changes_neither_scikit_learn_nor_pandas(
    team_python: Path, tmp_path: Path
) -> None:
    listed = run("pip", "freeze", "--python", str(team_python)).stdout.splitlines()
    assert {f"{name}=={version}" for name, version in TEAM.items()} <= set(listed)

    dry = run("pip", "install", "--dry-run", "--python", str(team_python), str(project_copy(tmp_path)))
    changes = [match.groups()[:3] for line in dry.stderr.splitlines() if (match := CHANGE.match(line))]
    assert ("+", DISTRIBUTION, None) in changes, dry.stderr  # rollout and its dependencies resolved
    assert any(name == "mlflow" for _, name, _ in changes), dry.stderr
    assert [change for change in changes if change[1] in TEAM] == [], dry.stderr
