"""What a deployment with a scoring script runs, read from the workspace's assets: its code version's
uploaded folder (in the emulator's blob storage), its scoring script, and its environment version's
conda file and image. No HTTP, no building: provisioning hands the result to the instance pool.

Azure builds a code deployment's image from the environment version it names. An inline
environment (registered by azure-ai-ml as an anonymous version) is built here from its conda file;
a registered environment (`azureml:NAME:VERSION`, not anonymous) is refused in one line until
environments are emulated, and so is one built from a Docker context.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from rollout.emulator.asset_state import AssetState
from rollout.emulator.assets import CODES, ENVIRONMENTS, asset_reference
from rollout.emulator.environments import EnvironmentNotEmulated, EnvironmentSpecInvalid, refuse_registered
from rollout.emulator.instances.runtime import CodeSource
from rollout.emulator.resources import Deployment


class Blobs(Protocol):
    def blob_directory(self, container: str, prefix: str) -> Path: ...


class ScoringCode:
    """Finds a code deployment's `CodeSource` in the workspace's assets and blob storage."""

    def __init__(self, assets: AssetState, blobs: Blobs, workspace: str) -> None:
        self.assets = assets
        self.blobs = blobs
        self.workspace = workspace

    def resolve(self, deployment: Deployment) -> CodeSource:
        """The deployment's code folder, script and environment; `EnvironmentProblem` for an
        environment the emulator does not build, `NotFound` for a version gone meanwhile."""
        if deployment.code_id is None or not deployment.scoring_script:
            raise ValueError(f"deployment {deployment.name} has no code_configuration")
        code_name, code_version = asset_reference(CODES, deployment.code_id, self.workspace)
        code = self.assets.get_code(code_name, code_version)
        env_name, env_version = asset_reference(ENVIRONMENTS, deployment.environment or "", self.workspace)
        environment = self.assets.get_environment(env_name, env_version)
        label = f"azureml:{env_name}:{env_version}"
        if not environment.is_anonymous:
            refuse_registered(label)
        if environment.build:
            raise EnvironmentNotEmulated(
                f"environment {label} is built from a Docker context, which the emulator cannot build; "
                "give the deployment an inline environment with a conda_file"
            )
        return CodeSource(
            name=code_name,
            version=code_version,
            folder=self.blobs.blob_directory(code.container, code.prefix),
            scoring_script=deployment.scoring_script,
            conda_file=_conda(environment.conda_file, label),
            image=environment.image,
            environment=label,
        )


def _conda(text: str | None, label: str) -> Mapping[str, Any] | None:
    """The environment's conda file (azure-ai-ml sends its YAML as a string), or None."""
    if not text:
        return None
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise EnvironmentSpecInvalid(f"environment {label}: its conda file is not YAML ({error})") from error
    if not isinstance(content, Mapping):
        raise EnvironmentSpecInvalid(f"environment {label}: its conda file is not a mapping")
    return content
