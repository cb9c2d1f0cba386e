"""The packages a deployment's environment holds (`package==version`), read from its container log
through the SDK (`online_deployments.get_logs`), the same call on every target.

Two forms of those lines are read:
- the environment's listing, which the local emulator writes when an instance starts:
  `Environment <key> (<python>): <N> packages`, then lines of `package==version` items;
- pip's `Successfully installed name-version ...`, which a container that installs packages when it
  starts (Azure's no-code MLflow image installing the model's dependencies) prints.
A log that holds neither gives no packages and says so: the caller records that they are unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rollout.azureml.sdk import azure_message

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

LOG_LINES = 2000  # enough for a fresh instance's start, within what Azure's log tail serves
_LISTING = re.compile(r"Environment \S+ \([^)]*\): (\d+) packages?\s*$")
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==\S+$")
_PIP = re.compile(r"Successfully installed (.+)$")
_PLATFORM = re.compile(r"^\S+ \[platform\] ")  # the emulator's note prefix: a timestamp, [platform]


@dataclass(frozen=True)
class EnvironmentPackages:
    """A deployment's packages (`name==version`, sorted by name), or None with why they are unknown."""

    deployment: str
    packages: tuple[str, ...] | None
    unknown_because: str | None = None


def read_packages(ml: MLClient, name: str, endpoint: str) -> EnvironmentPackages:
    """The packages of deployment `name` as its log lists them; never raises for a log it cannot read."""
    try:
        log = ml.online_deployments.get_logs(name, endpoint, lines=LOG_LINES)
    except Exception as exc:
        return EnvironmentPackages(name, None, f"its log could not be read: {azure_message(exc)}")
    packages = parse_packages(log or "")
    if packages is None:
        return EnvironmentPackages(name, None, "its log does not list its environment's packages")
    return EnvironmentPackages(name, tuple(packages))


def parse_packages(log: str) -> list[str] | None:
    """The first package listing in `log` (the environment's, else pip's installs), sorted by
    normalised name; None when the log has neither."""
    lines = [_PLATFORM.sub("", line) for line in log.splitlines()]
    listed = _listing(lines)
    if listed is None:
        listed = _pip_installs(lines)
    if listed is None:
        return None
    by_name = {package_name(pin): pin for pin in listed}  # a later install of a package wins
    return [by_name[name] for name in sorted(by_name)]


def package_name(pin: str) -> str:
    """`scikit_learn==1.5.2` -> `scikit-learn`: the name as pip compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=]", pin, maxsplit=1)[0]).lower()


def _listing(lines: list[str]) -> list[str] | None:
    for index, line in enumerate(lines):
        header = _LISTING.search(line)
        if header is None:
            continue
        expected, found = int(header.group(1)), list[str]()
        for item_line in lines[index + 1 :]:
            items = item_line.split()
            if not items or not all(_PIN.match(item) for item in items) or len(found) >= expected:
                break
            found.extend(items)
        return found
    return None


def _pip_installs(lines: list[str]) -> list[str] | None:
    installed: list[str] = []
    seen = False
    for line in lines:
        match = _PIP.search(line)
        if match is None:
            continue
        seen = True
        for item in match.group(1).split():
            name, dash, version = item.rpartition("-")
            if dash and name and version[:1].isdigit():
                installed.append(f"{name}=={version}")
    return installed if seen else None
