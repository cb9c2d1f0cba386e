"""pip requirement lines: read from requirements files, normalized, compared.

A line is a requirement (`scikit-learn==1.9.1`, `pkg[extra]>=1; python_version<"3.12"`,
`name @ https://...`) or an option (`--extra-index-url ...`, `-c constraints.txt`). Nested
`-r file` lines are inlined, relative to the file that names them, so a list stands on its own
wherever it is installed from; a relative `-c file` is made absolute for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from rollout.emulator.environments.failures import EnvironmentSpecInvalid

_COMMENT = re.compile(r"(^|\s)#.*$")
_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s+|=)(?P<path>\S+)$")
_CONSTRAINT = re.compile(r"^(?:-c|--constraint)(?:\s+|=)(?P<path>\S+)$")
_MAX_DEPTH = 10  # nested -r files


def read_file(path: Path) -> list[str]:
    """The lines of a requirements file, comments and blanks dropped, its `-r` files inlined."""
    return _read(path, depth=0)


def expand(lines: Iterable[str], base_dir: Path | None) -> list[str]:
    """`lines` without comments or blanks, `-r` files (relative to `base_dir`) inlined."""
    return _expand(lines, base_dir, depth=0)


def _read(path: Path, depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        raise EnvironmentSpecInvalid(f"{path}: requirements files include each other too deeply")
    try:
        text = path.read_text()
    except OSError as error:
        raise EnvironmentSpecInvalid(f"{path}: cannot be read ({error.strerror or error})") from error
    return _expand(text.splitlines(), path.parent, depth)


def _expand(lines: Iterable[str], base_dir: Path | None, depth: int) -> list[str]:
    result: list[str] = []
    for raw in lines:
        line = _COMMENT.sub("", str(raw)).strip()
        if not line:
            continue
        if included := _INCLUDE.match(line):
            result.extend(_read(_relative(included["path"], base_dir), depth + 1))
        elif constraint := _CONSTRAINT.match(line):
            result.append(f"-c {_relative(constraint['path'], base_dir)}")
        else:
            result.append(line)
    return result


def _relative(name: str, base_dir: Path | None) -> Path:
    path = Path(name)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def normalize(line: str) -> str:
    """One spelling per requirement: the canonical name and extras, the specifiers sorted, options
    with single spaces; a line that is not a requirement stays as written (stripped)."""
    line = " ".join(line.split())
    if line.startswith("-"):
        return line
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return line
    requirement.name = canonicalize_name(requirement.name)
    requirement.extras = {canonicalize_name(extra) for extra in requirement.extras}
    return str(requirement)


def name_of(line: str) -> str | None:
    """The canonical project name a requirement line names (None for an option or a URL-only line)."""
    if line.lstrip().startswith("-"):
        return None
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def specifier_of(line: str) -> str:
    """The version specifiers of a requirement line (`==3.17.2`, `<4,>=3`; empty when there are none)."""
    try:
        return str(Requirement(line).specifier)
    except InvalidRequirement:
        return ""


def normalized_set(lines: Sequence[str]) -> list[str]:
    """The normalized lines, each once, sorted: what two lists are compared (and hashed) by."""
    return sorted({normalize(line) for line in lines})


def differences(ours: Sequence[str], theirs: Sequence[str]) -> tuple[list[str], list[str]]:
    """What `ours` has that `theirs` lacks, and the other way round (normalized)."""
    mine, other = set(normalized_set(ours)), set(normalized_set(theirs))
    return sorted(mine - other), sorted(other - mine)
