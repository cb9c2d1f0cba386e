"""`make lint`'s module-size check: a long module fails unless allowed; a stale allowance fails too."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "module_sizes.py"
spec = importlib.util.spec_from_file_location("module_sizes", SCRIPT)
assert spec is not None and spec.loader is not None
module_sizes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module_sizes)


def tree(root: Path, sizes: dict[str, int], folder: str = "src/rollout") -> Path:
    for name, lines in sizes.items():
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * lines)
    return root


def test_a_long_module_fails_unless_allowed_and_a_stale_allowance_fails(tmp_path: Path) -> None:
    root = tree(tmp_path, {"short.py": 10, "pkg/long.py": 12, "allowed.py": 20, "shrunk.py": 3})
    allowed = {"src/rollout/allowed.py": "why", "src/rollout/shrunk.py": "why", "src/rollout/gone.py": "why"}
    assert module_sizes.problems(root, 11, allowed) == [
        "src/rollout/pkg/long.py: 12 lines, over 11: split it (or allow it, with a reason)",
        "src/rollout/shrunk.py: 3 lines, within 11: take it off the allowlist",
        "src/rollout/gone.py: allowed to be long, but there is no such module",
    ]
    assert module_sizes.problems(root, 20, {"src/rollout/allowed.py": "why"}) == [
        "src/rollout/allowed.py: 20 lines, within 20: take it off the allowlist"
    ]


def test_the_benchmarks_are_checked_too(tmp_path: Path) -> None:
    root = tree(tree(tmp_path, {"short.py": 10}), {"scoring/long.py": 12}, folder="benchmarks")
    assert module_sizes.problems(root, 11, {}) == [
        "benchmarks/scoring/long.py: 12 lines, over 11: split it (or allow it, with a reason)"
    ]


def test_the_project_keeps_within_its_limit() -> None:
    assert module_sizes.main() == 0
