"""A conda environment file read as the emulator can honour it: its Python and pip packages.

Azure builds a conda file with conda; the emulator installs with uv from PyPI. So:
- `python=X.Y[.Z]` is the Python wanted; `pip` itself is left out (uv installs, not pip).
- the `pip:` list is taken as is (nested `-r` files inlined, relative to the conda file).
- every other conda package is installed from PyPI under the same name (with the few names that
  differ mapped: `pytorch` is `torch`), its conda version turned into pip's (`=1.21` is
  `==1.21.*`), and one warning names them all: Azure's conda would install conda's builds.
- conda packages that are system libraries, not Python projects (compilers, CUDA, `lib*`,
  OpenSSL, R, ...), have no PyPI equivalent: one error names them, never a silent skip, and no
  same-named PyPI project is installed instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rollout.emulator.environments import requirements
from rollout.emulator.environments.failures import EnvironmentNotEmulated, EnvironmentSpecInvalid

# conda names of Python projects published on PyPI under another name
PYPI_NAMES = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost-cpu",
    "matplotlib-base": "matplotlib",
}
# conda packages that are not Python projects: nothing on PyPI stands in for them
SYSTEM_PACKAGES = frozenset(
    {
        "bzip2", "ca-certificates", "cmake-data", "cudatoolkit", "cudnn", "gcc", "gxx", "gfortran",
        "git", "icu", "ld_impl_linux-64", "make", "mkl-service", "nccl", "ncurses", "nodejs",
        "openjdk", "openssl", "r-base", "readline", "sqlite", "tk", "tzdata", "xz", "zlib", "zstd",
    }
)  # fmt: skip
_SYSTEM_PREFIXES = ("lib", "_", "r-", "cuda-", "openmpi")
_MATCH_SPEC = re.compile(r"^(?:[\w.\-/:]+::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")
_VERSION = re.compile(r"^\d+(?:\.\d+){0,2}$")


@dataclass(frozen=True)
class CondaEnvironment:
    """What the emulator builds of a conda file."""

    python: str | None  # the Python version asked for (`3.11.7`, `3.9`), None when it names none
    pip: list[str]  # pip requirement lines: the conda packages taken from PyPI, then the pip list
    from_conda: list[str] = field(default_factory=list)  # the conda packages taken from PyPI
    warnings: list[str] = field(default_factory=list)


def load(path: Path) -> Mapping[str, Any]:
    """A conda file's content; unreadable or not a mapping is `EnvironmentSpecInvalid`."""
    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise EnvironmentSpecInvalid(f"{path}: not a readable conda file ({error})") from error
    if not isinstance(content, Mapping):
        raise EnvironmentSpecInvalid(f"{path}: not a conda file (no mapping of name, channels, dependencies)")
    return content


def parse(content: Mapping[str, Any], *, source: str, base_dir: Path | None = None) -> CondaEnvironment:
    """The Python version and pip requirement lines of a conda file's content (`source` names it in
    messages; `base_dir` is where its pip list's `-r` files are)."""
    dependencies = content.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise EnvironmentSpecInvalid(f"{source}: `dependencies` is not a list")
    python: str | None = None
    warnings: list[str] = []
    conda_packages: list[tuple[str, str]] = []  # (name, the rest of the match spec)
    pip: list[str] = []
    for entry in dependencies:
        if isinstance(entry, Mapping):
            pip.extend(_pip_list(entry, source, warnings))
            continue
        match = _MATCH_SPEC.match(str(entry).strip())
        if match is None:
            raise EnvironmentSpecInvalid(f"{source}: dependency {entry!r} is not a conda package")
        name, rest = match["name"].lower(), match["rest"].strip()
        if name == "python":
            python = _python_version(rest, source, warnings)
        elif name != "pip":
            conda_packages.append((name, rest))
    from_conda = _from_pypi(conda_packages, source)
    if from_conda:
        warnings.append(
            f"{source}: conda packages installed from PyPI instead ({', '.join(from_conda)}): "
            "Azure installs conda's builds of them"
        )
    lines = from_conda + requirements.expand(pip, base_dir)
    return CondaEnvironment(python=python, pip=lines, from_conda=from_conda, warnings=warnings)


def _pip_list(entry: Mapping[str, Any], source: str, warnings: list[str]) -> list[str]:
    lines: list[str] = []
    for key, value in entry.items():
        if key != "pip":
            warnings.append(f"{source}: dependencies entry {key!r} ignored (only `pip:` lists are read)")
        elif not isinstance(value, list):
            raise EnvironmentSpecInvalid(f"{source}: the `pip:` entry is not a list")
        else:
            lines.extend(str(line) for line in value)
    return lines


def _python_version(rest: str, source: str, warnings: list[str]) -> str | None:
    """`=3.11.7`, `==3.9`, `3.10`, `=3.11.*` name a version; ranges name none (a warning says so)."""
    text = rest.lstrip("=").split("=")[0].strip().removesuffix(".*").removesuffix("*")
    if _VERSION.match(text):
        return text
    if rest:
        warnings.append(f"{source}: python {rest!r} is not one version; the default Python is used")
    return None


def _from_pypi(packages: list[tuple[str, str]], source: str) -> list[str]:
    system = [name for name, _ in packages if _is_system(name)]
    if system:
        raise EnvironmentNotEmulated(
            f"{source}: conda packages that are not Python projects cannot be installed locally "
            f"({', '.join(system)}): the emulator installs from PyPI, where nothing stands in for them; "
            "Azure installs them with conda. Drop them, or use PyPI packages in the `pip:` list."
        )
    return [PYPI_NAMES.get(name, name) + _pip_specifier(rest) for name, rest in packages]


def _is_system(name: str) -> bool:
    return name in SYSTEM_PACKAGES or name.startswith(_SYSTEM_PREFIXES)


def _pip_specifier(rest: str) -> str:
    """A conda version (`=1.21`, `==1.21.2=py39_0`, `>=1.2,<2`, `1.21.*`) in pip's terms."""
    rest = rest.strip()
    if not rest:
        return ""
    if rest.startswith("=="):
        return "==" + rest[2:].split("=")[0]
    if rest[0] in "<>!~":
        return rest.split()[0]  # a build string after a space is conda's alone
    version = rest.lstrip("=").split("=")[0].split()[0]
    fuzzy = rest.startswith("=")  # conda's `=1.21` is any 1.21.x; a bare `1.21.2` is that version
    if version.endswith("*"):
        return "==" + version if version.endswith(".*") else "==" + version[:-1].rstrip(".") + ".*"
    return "==" + version + (".*" if fuzzy else "")
