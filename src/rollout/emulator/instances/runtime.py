"""What a deployment's instances run, made ready when the deployment is provisioned: the model's
files where Azure mounts them, the scoring script's code folder (a code deployment), and the
environment built from the model's own dependencies or from the deployment's own environment.

Azure starts a no-code MLflow deployment's container on its MLflow image, installs the model's
packages (its `conda.yaml`, else `requirements.txt`) and mounts the model at
`$AZUREML_MODEL_DIR` = `/var/azureml-app/azureml-models/NAME/VERSION`, the model's folder inside.
Here the environment comes from `rollout.emulator.environments` (built with uv, or found in the
cache) and the mount is a copy of the registry's files (hard links where the file system allows).
A deployment with `code_configuration` and an inline `environment` runs as Azure runs it: the code
version's folder is the app root (`AML_APP_ROOT`, a copy under `code/NAME/VERSION`), the environment
is the conda file's pip packages and nothing added (`for_custom_environment`): no inference server
either, so an environment without `azureml-inference-server-http` gets its instances failing to
start, as on Azure. A build that fails raises `EnvironmentProblem` with the installer's message; its
progress, and the packages it resolved, go to the deployment's logs through `note`.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout.emulator.environments import (
    BuildOptions,
    BuiltEnvironment,
    EnvironmentCache,
    EnvironmentSpec,
    for_custom_environment,
    for_mlflow_model,
)

PACKAGES_PER_LINE = 6
INFERENCE_SERVER = "azureml-inference-server-http"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MOUNTING = threading.Lock()

Note = Callable[[str], None]


@dataclass(frozen=True)
class CodeSource:
    """A code deployment's scoring script and environment, as the workspace keeps them: the code
    version (`name`, `version`, its uploaded `folder`), the script relative to it, and the inline
    environment's conda file (content) and image; `environment` names that environment version."""

    name: str
    version: str
    folder: Path
    scoring_script: str
    conda_file: Mapping[str, Any] | None
    image: str | None
    environment: str


@dataclass(frozen=True)
class Runtime:
    """A deployment's environment, its model's directory (`AZUREML_MODEL_DIR`, none for a code
    deployment without a model) and, for a code deployment, its app root and scoring script."""

    environment: BuiltEnvironment
    model_dir: Path | None
    code_dir: Path | None = None
    scoring_script: str | None = None


def mount_model(root: Path, name: str, version: str, files: Path) -> Path:
    """`root/azureml-models/NAME/VERSION`, holding a copy of the model's folder (hard links where
    the file system allows), as Azure lays a registered model out for a deployment; that directory.
    (A symbolic link would not do: MLflow refuses a model whose files resolve outside its folder.)"""
    model_dir = root / "azureml-models" / _safe(name) / _safe(version)
    _copy_once(files, model_dir, model_dir / _safe(files.name or "model"))
    return model_dir


def mount_code(root: Path, code: CodeSource) -> Path:
    """`root/code/NAME/VERSION`: a copy of the code version's folder (its app root), so that what the
    script writes beside itself (`__pycache__`, files) stays out of the blob storage; that folder."""
    code_dir = root / "code" / _safe(code.name) / _safe(code.version)
    _copy_once(code.folder, code_dir, code_dir)
    return code_dir


def _copy_once(files: Path, mount: Path, target: Path) -> None:
    """Copy `files` to `target` (inside `mount`) unless a whole copy of them is there already."""
    source = mount.with_name(f"{mount.name}.source")  # written once the copy is whole
    with _MOUNTING:
        if source.is_file() and source.read_text() == str(files.resolve()):
            return
        shutil.rmtree(mount, ignore_errors=True)
        mount.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(files, target, copy_function=_link_or_copy)
        source.write_text(str(files.resolve()))


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
    return _build(cache, spec, note)


def build_code_environment(cache: EnvironmentCache, code: CodeSource, note: Note) -> BuiltEnvironment:
    """The environment Azure gives a code deployment: its inline environment's conda file's pip
    packages, nothing added (what the image or a conda-only package would bring: a warning);
    raises `EnvironmentProblem`."""
    spec = for_custom_environment(code.conda_file, code.image)
    listed = ", ".join(spec.requirements) or "nothing"
    note(f"Installing environment {code.environment} from its conda file's pip packages: {listed}")
    environment = _build(cache, spec, note)
    if not any(_named(line) == INFERENCE_SERVER for line in environment.resolved):
        note(
            f"warning: environment {code.environment} has no {INFERENCE_SERVER}: Azure adds no inference "
            "server to a custom environment (its container runs `azmlinfsrv`, which the environment "
            f"must install); add {INFERENCE_SERVER} to the conda file's pip packages"
        )
    return environment


def _build(cache: EnvironmentCache, spec: EnvironmentSpec, note: Note) -> BuiltEnvironment:
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


def _named(requirement: str) -> str:
    return re.split(r"[=<>!~ \[;]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part) or "_"
