"""A deployment spec's `environment`, checked offline: an inline one's conda file exists and is a conda
environment (a mapping whose `dependencies` is a list, a `pip:` entry a list of strings); what the local
emulator would do otherwise than Azure is a note, not a problem (a registered environment, which it
refuses; a conda file without Azure's inference server, which an image may hold on Azure but which the
emulator, building the pip list only, does not add).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rollout.project.problems import Problem

INFERENCE_SERVER = "azureml-inference-server-http"
REGISTERED_NOT_EMULATED = (
    "a registered environment; Azure builds it, the local emulator refuses it (give the deployment an "
    "inline environment, a conda_file, to rehearse it locally)"
)
NO_INFERENCE_SERVER = (
    f"its conda file's pip list has no {INFERENCE_SERVER}: Azure runs a scoring script only where the "
    "environment (or its image) has it; the local emulator builds the pip list only, so the deployment "
    "fails there"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def environment_problems(value: Any, spec_path: Path, file: str) -> list[Problem]:
    """An inline environment's local conda file exists and reads as a conda environment (reported
    on `environment`, which the loader's own messages about the file then add nothing to)."""
    conda_file = value.get("conda_file") if isinstance(value, dict) else None
    if not isinstance(conda_file, str) or conda_file.startswith("azureml:") or "://" in conda_file:
        return []  # the loader reports a wrong shape; a remote file is not checked offline
    path = (spec_path.parent / conda_file).resolve()
    if not path.is_file():
        return [Problem(file, "environment", f"conda_file {conda_file} is not a file (relative to the spec)")]
    _, reason = _conda(path)
    if reason:
        return [Problem(file, "environment", f"conda_file {conda_file}: {reason}")]
    return []


def environment_notes(raw: dict[str, Any], spec_path: Path) -> list[str]:
    """What the local emulator does otherwise than Azure with the spec's environment."""
    value = raw.get("environment")
    if isinstance(value, str):
        return [f"environment {value}: {REGISTERED_NOT_EMULATED}"]
    conda_file = value.get("conda_file") if isinstance(value, dict) else None
    if not raw.get("code_configuration") or not isinstance(conda_file, str):
        return []
    path = (spec_path.parent / conda_file).resolve()
    content, reason = _conda(path) if path.is_file() else (None, "missing")
    if content is None or reason:
        return []
    if INFERENCE_SERVER not in _pip_names(content):
        return [f"environment.conda_file: {NO_INFERENCE_SERVER}"]
    return []


def _conda(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The conda file's content, or why it is not a conda environment."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return None, f"not valid YAML ({' '.join(str(error).split())})"
    if not isinstance(content, dict):
        return None, "not a conda environment (a mapping with `dependencies`)"
    dependencies = content.get("dependencies", [])
    if not isinstance(dependencies, list):
        return None, "`dependencies` is not a list"
    for entry in dependencies:
        if isinstance(entry, dict) and "pip" in entry:
            pip = entry["pip"]
            if not isinstance(pip, list) or not all(isinstance(line, str) for line in pip):
                return None, "its `pip:` entry is not a list of requirements"
    return content, ""


def _pip_names(content: dict[str, Any]) -> set[str]:
    names = set()
    for entry in content.get("dependencies") or []:
        if isinstance(entry, dict):
            for line in entry.get("pip") or []:
                found = _NAME.match(line.strip())
                if found:
                    names.add(found.group().lower().replace("_", "-"))
    return names
