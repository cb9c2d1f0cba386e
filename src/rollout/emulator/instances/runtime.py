"""What a deployment's instances run, made ready when the deployment is provisioned: the model's
files where Azure mounts them, and the environment built from the model's own dependencies.

Azure starts a no-code MLflow deployment's container on its MLflow image, installs the model's
packages (its `conda.yaml`, else `requirements.txt`) and mounts the model at
`$AZUREML_MODEL_DIR` = `/var/azureml-app/azureml-models/NAME/VERSION`, the model's folder inside.
Here the environment comes from `rollout.emulator.environments` (built with uv, or found in the
cache) and the mount is a copy of the registry's files (hard links where the file system allows).
A build that fails raises `EnvironmentProblem` with the installer's message; its progress, and
the packages it resolved, go to the deployment's logs through `note`.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rollout.emulator.environments import (
    BuildOptions,
    BuiltEnvironment,
    EnvironmentCache,
    for_mlflow_model,
)

PACKAGES_PER_LINE = 6
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MOUNTING = threading.Lock()

Note = Callable[[str], None]


@dataclass(frozen=True)
class Runtime:
    """A deployment's environment and its model's directory (`AZUREML_MODEL_DIR`)."""

    environment: BuiltEnvironment
    model_dir: Path


def mount_model(root: Path, name: str, version: str, files: Path) -> Path:
    """`root/azureml-models/NAME/VERSION`, holding a copy of the model's folder (hard links where
    the file system allows), as Azure lays a registered model out for a deployment; that directory.
    (A symbolic link would not do: MLflow refuses a model whose files resolve outside its folder.)"""
    model_dir = root / "azureml-models" / _safe(name) / _safe(version)
    source = model_dir.with_name(f"{_safe(version)}.source")  # written once the copy is whole
    with _MOUNTING:
        if source.is_file() and source.read_text() == str(files.resolve()):
            return model_dir
        shutil.rmtree(model_dir, ignore_errors=True)
        shutil.copytree(files, model_dir / _safe(files.name or "model"), copy_function=_link_or_copy)
        source.write_text(str(files.resolve()))
    return model_dir


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_environment(cache: EnvironmentCache, files: Path, note: Note) -> BuiltEnvironment:
    """The environment Azure gives a no-code deployment of the MLflow model in `files`, built (or
    found cached) with its progress and resolved packages noted; raises `EnvironmentProblem`."""
    spec = for_mlflow_model(files)
    note(f"Installing the model's dependencies from {spec.source}: {', '.join(spec.requirements)}")
    for warning in spec.warnings:
        note(f"warning: {warning}")
    environment = cache.build(spec, BuildOptions(progress=note))
    for warning in environment.warnings[len(spec.warnings) :]:
        note(f"warning: {warning}")
    for line in describe(environment):
        note(line)
    return environment


def describe(environment: BuiltEnvironment) -> list[str]:
    """Lines naming an environment and every package it holds (`package==version`)."""
    packages = environment.resolved
    lines = [f"Environment {environment.key} ({environment.python}): {len(packages)} packages"]
    for start in range(0, len(packages), PACKAGES_PER_LINE):
        lines.append("  " + " ".join(packages[start : start + PACKAGES_PER_LINE]))
    return lines


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part) or "_"
