"""The Python an environment is built with: one of the interpreters already on this machine.

uv lists them (`uv python list --only-installed`, with `UV_PYTHON_DOWNLOADS=never`: the emulator
never downloads an interpreter). A model logged with a Python this machine has is built with it;
one logged with another minor version gets the nearest available one, and one warning says so.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rollout.emulator.environments.installer import run_uv

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
Version = tuple[int, int, int]


@dataclass(frozen=True)
class Interpreter:
    """A Python on this machine: its version, executable and platform (`linux-x86_64-gnu`)."""

    version: Version
    path: Path
    platform: str
    implementation: str = "cpython"

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def identity(self) -> str:
        """What an environment built with it depends on: `cpython-3.11.7-linux-x86_64-gnu`."""
        return f"{self.implementation}-{self.version_text}-{self.platform}"


@dataclass(frozen=True)
class Choice:
    interpreter: Interpreter
    warning: str | None = None  # set when the minor version differs from the one wanted


def parse_version(text: str) -> tuple[int, int, int | None] | None:
    """`3.11.7` is (3, 11, 7); `3.11` is (3, 11, None); anything else None."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), (int(match[3]) if match[3] is not None else None)


def choose(wanted: str | None, available: Sequence[Interpreter], current: Version | None = None) -> Choice:
    """The interpreter nearest to `wanted` (default: `current`, the Python rollout runs on).

    The same minor version first (the wanted patch if there, else the newest patch), then the
    nearest minor version, the older of two equally near ones (a model's pins are more likely to
    have wheels for an older Python than a newer one), the newest patch of it.
    """
    if not available:
        raise ValueError("no Python interpreter is available")
    current = current or _running_version()
    parsed = parse_version(wanted) if wanted else None
    major, minor, patch = parsed or current

    def distance(candidate: Interpreter) -> tuple[int, int, bool, bool, int]:
        c_major, c_minor, c_patch = candidate.version
        return (
            abs(c_major - major),
            abs(c_minor - minor),
            c_minor > minor,
            patch is not None and c_patch != patch,
            -c_patch,
        )

    best = min(available, key=distance)
    if parsed is None or best.version[:2] == (major, minor):
        return Choice(best)
    return Choice(
        best,
        f"Python {wanted} is not available here; built with Python {best.version_text}, the nearest "
        f"(Azure would use {wanted})",
    )


def discover() -> tuple[Interpreter, ...]:
    """The CPython interpreters uv finds on this machine, one per version, and rollout's own."""
    listing = run_uv(
        ["python", "list", "--only-installed", "--output-format", "json"], cwd=Path(tempfile.gettempdir())
    )
    try:
        listed = json.loads(listing.stdout) if listing.returncode == 0 else []
    except json.JSONDecodeError:
        listed = []
    found: dict[Version, Interpreter] = {}
    for entry in listed if isinstance(listed, list) else []:
        interpreter = _from_uv(entry)
        if interpreter is not None:
            found.setdefault(interpreter.version, interpreter)
    running = running_interpreter()
    found.setdefault(running.version, running)
    return tuple(found.values())


def running_interpreter() -> Interpreter:
    """The Python rollout runs on (its base interpreter when rollout runs in a virtual environment)."""
    executable = getattr(sys, "_base_executable", None) or sys.executable
    libc = platform.libc_ver()[0]
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    abi = "gnu" if libc == "glibc" else (libc or "none")
    return Interpreter(_running_version(), Path(executable), f"{system}-{platform.machine()}-{abi}")


def _running_version() -> Version:
    return sys.version_info.major, sys.version_info.minor, sys.version_info.micro


def _from_uv(entry: object) -> Interpreter | None:
    if not isinstance(entry, dict) or entry.get("implementation") != "cpython":
        return None
    if entry.get("variant", "default") != "default" or not entry.get("path"):
        return None
    parts = entry.get("version_parts") or {}
    try:
        version = (int(parts["major"]), int(parts["minor"]), int(parts["patch"]))
    except (KeyError, TypeError, ValueError):
        return None
    system = f"{entry.get('os')}-{entry.get('arch')}-{entry.get('libc')}"
    return Interpreter(version, Path(entry["path"]), system)
