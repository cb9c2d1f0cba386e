"""Building one environment into a directory with uv: a virtual environment of the chosen Python
(relocatable, so the cache can rename it into place), the requirements installed into it, the
resolved set read back.

Online first, as Azure resolves against the index when it builds; when the index cannot be
reached, the same install again from uv's package cache alone (`--offline`), so a rebuild of an
environment whose packages uv has seen needs no network. A build that fails raises
`EnvironmentBuildFailed` with uv's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rollout.emulator.environments.failures import EnvironmentBuildFailed
from rollout.emulator.environments.installer import Completed, run_uv, trimmed
from rollout.emulator.environments.interpreters import Interpreter
from rollout.emulator.environments.spec import EnvironmentSpec

Progress = Callable[[str], None]
REQUIREMENTS_NAME = "rollout-requirements.txt"  # inside the environment: what it was built from


def _quiet(line: str) -> None:
    """No progress reporting."""


@dataclass(frozen=True)
class BuildOptions:
    offline: bool = False  # uv's package cache only, never the index
    progress: Progress = _quiet  # short lines: "resolving 7 requirements", "installed 23 packages in 3.9 s"


@dataclass(frozen=True)
class Built:
    resolved: list[str]  # `package==version`, as `uv pip freeze` lists them
    seconds: float
    offline: bool  # whether it was installed from uv's cache alone


def environment_python(path: Path) -> Path:
    """The Python executable of the environment at `path`."""
    return path / "bin" / "python"


def build_into(target: Path, spec: EnvironmentSpec, interpreter: Interpreter, options: BuildOptions) -> Built:
    """Build `spec`'s environment at `target` (which must not exist) with `interpreter`."""
    work = target.parent
    created = run_uv(
        ["venv", "--quiet", "--relocatable", "--python", str(interpreter.path), str(target)], cwd=work
    )
    _check(created, spec)
    requirements_file = target / REQUIREMENTS_NAME
    requirements_file.write_text("".join(f"{line}\n" for line in spec.requirements))
    count = counted(len(spec.requirements), "requirement")
    options.progress(f"resolving {count} with Python {interpreter.version_text}")
    python = str(environment_python(target))
    install = ["pip", "install", "--python", python, "-r", str(requirements_file)]
    installed = run_uv(install, cwd=work, offline=options.offline)
    offline = options.offline
    if installed.network_failed and not offline:
        options.progress("the package index is unreachable: installing from uv's package cache")
        installed, offline = run_uv(install, cwd=work, offline=True), True
    if offline:
        note = "offline" if options.offline else "the package index is unreachable"
        _check(installed, spec, note=f"{note}, and uv's package cache cannot serve every package")
    _check(installed, spec)
    frozen = run_uv(["pip", "freeze", "--python", python], cwd=work)
    _check(frozen, spec)
    resolved = [line.strip() for line in frozen.stdout.splitlines() if line.strip()]
    seconds = created.seconds + installed.seconds + frozen.seconds
    options.progress(f"installed {counted(len(resolved), 'package')} in {seconds:.1f} s")
    return Built(resolved=resolved, seconds=seconds, offline=offline)


def _check(completed: Completed, spec: EnvironmentSpec, *, note: str | None = None) -> None:
    if completed.returncode == 0:
        return
    message = trimmed(completed.stderr) or f"uv exited with status {completed.returncode}"
    if note:
        message = f"{note}:\n{message}"
    if spec.from_conda:
        message += f"\n(conda packages taken from PyPI: {', '.join(spec.from_conda)})"
    raise EnvironmentBuildFailed(f"{spec.source or 'environment'}: {message}", spec.kind)


def counted(count: int, noun: str) -> str:
    """`1 package`, `23 packages`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
