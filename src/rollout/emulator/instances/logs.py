"""Instance log files: platform notes appended next to the instance's own output, capped, tailed.

Every instance writes its output to its own log file (capped: rotated to `.1` past
`LOG_CAP_BYTES`); the platform's notes go to the storage-initializer log and, as `[platform]`
lines, into the instances' logs too.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

LOG_CAP_BYTES = 5 * 1024 * 1024
STORAGE_INITIALIZER = "storage-initializer"


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def append(path: Path, text: str) -> None:
    """Append platform lines to a log file (O_APPEND: safe next to the instance's own writes)."""
    lines = "".join(f"{_timestamp()} [platform] {line}\n" for line in text.splitlines() or [""])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)


def rotate_if_large(path: Path, cap: int) -> None:
    """Copy-truncate rotation: the writer keeps its O_APPEND descriptor and continues at 0."""
    try:
        if path.stat().st_size <= cap:
            return
        shutil.copyfile(path, path.with_name(path.name + ".1"))
        os.truncate(path, 0)
    except FileNotFoundError:
        pass


def _tail(path: Path, lines: int | None) -> list[str]:
    """The last `lines` lines of a log file and its rotated predecessor (`.1`)."""
    text: list[str] = []
    for part in (path.with_name(path.name + ".1"), path):
        try:
            text.extend(part.read_text(errors="replace").splitlines())
        except FileNotFoundError:
            continue
    return text if lines is None else text[-lines:] if lines > 0 else []


def tails(paths: Sequence[Path], lines: int | None) -> str:
    """Tails of several instances' logs, each under a header when there is more than one."""
    if len(paths) == 1:
        return "\n".join(_tail(paths[0], lines))
    parts = []
    for path in paths:
        parts.append(f"===== {path.stem} =====")
        parts.extend(_tail(path, lines))
    return "\n".join(parts)


def is_storage_initializer(container_type: str | None) -> bool:
    """Whether a container type (any spelling: StorageInitializer, storage-initializer) names the
    storage initializer."""
    return _letters(container_type) == _letters(STORAGE_INITIALIZER)


def _letters(container_type: str | None) -> str:
    return re.sub(r"[^a-z]", "", (container_type or "").lower())
