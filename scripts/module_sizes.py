"""Fail when a module of src/rollout or benchmarks/ is longer than the limit, unless the allowlist
names it.

The limit and the allowlist (each module with its reason) are `[tool.rollout.module-size]` in
pyproject.toml. An allowed module that no longer needs it fails too, so the list stays short.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("src/rollout", "benchmarks")  # the folders whose modules are checked


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def problems(root: Path, limit: int, allowed: dict[str, str]) -> list[str]:
    """One line per module over `limit` that `allowed` does not name, and per stale allowance."""
    found = []
    for path in sorted(path for folder in CHECKED for path in (root / folder).rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name not in allowed and (lines := line_count(path)) > limit:
            found.append(f"{name}: {lines} lines, over {limit}: split it (or allow it, with a reason)")
    for name in allowed:
        path = root / name
        if not path.is_file():
            found.append(f"{name}: allowed to be long, but there is no such module")
        elif (lines := line_count(path)) <= limit:
            found.append(f"{name}: {lines} lines, within {limit}: take it off the allowlist")
    return found


def main() -> int:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["rollout"]["module-size"]
    found = problems(ROOT, settings["limit"], settings.get("allow", {}))
    for line in found:
        print(line, file=sys.stderr)
    if not found:
        allowed = len(settings.get("allow", {}))
        print(f"modules: every one within {settings['limit']} lines but {allowed} allowed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
