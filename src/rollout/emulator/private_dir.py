"""Owner-only state directories: they hold endpoint keys, the management token and TLS keys."""

from __future__ import annotations

from pathlib import Path


def ensure_private_dir(path: Path) -> Path:
    """Create `path` if needed and restrict it to its owner (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
