"""Model versions copied from one MLflow registry into another under their own version numbers.

A rehearsal deploys `azureml:<name>:<version>` from a throwaway registry, so version N there must be
version N of the user's registry. An MLflow registry numbers a new version one above the highest it
ever held, deleted ones included: the copy registers stand-ins for the numbers below N that it does
not copy and deletes them at once, then registers the copy as N.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rollout import registry  # the package's helpers (this module is one of its parts)
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from mlflow import MlflowClient


def copy_versions(
    source_uri: str, dest_uri: str, artifacts_dir: Path, name: str, versions: Iterable[int]
) -> list[int]:
    """Copy versions of model `name` from `source_uri` into the registry at `dest_uri` (whose
    artifacts go to `artifacts_dir`), keeping each version's number; the numbers copied.

    A UserError names a version the source lacks, or one below a number the destination holds.
    """
    import mlflow.artifacts

    wanted = sorted(set(versions))
    for version in wanted:
        registry.get_version(source_uri, name, version)  # names a missing version before any copy
    source, dest = registry.client(source_uri), registry.client(dest_uri)
    with tempfile.TemporaryDirectory(prefix="rollout-model-copy-") as scratch:
        for version in wanted:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=source.get_model_version_download_uri(name, str(version)),
                dst_path=str(Path(scratch) / str(version)),
                tracking_uri=source_uri,
            )
            _register_as(dest, name, Path(local), version, artifacts_dir)
    return wanted


def _register_as(client: MlflowClient, name: str, model_dir: Path, version: int, artifacts_dir: Path) -> None:
    """Register `model_dir` as version `version` of `name` (stand-ins fill the numbers below it)."""
    registry.ensure_registered_model(client, name)
    run_id, source = registry.upload_model(client, name, model_dir, artifacts_dir=artifacts_dir)
    while True:
        made = int(client.create_model_version(name, source=source, run_id=run_id).version)
        if made == version:
            return
        if made > version:
            raise UserError(f"cannot copy {name} version {version}: the rehearsal's registry is past it")
        client.delete_model_version(name, str(made))
