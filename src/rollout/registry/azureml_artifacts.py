"""A compatibility fix: azureml-mlflow 1.60's `azureml` artifact repository under MLflow 3.

MLflow 3 builds artifact repositories as `builder(artifact_uri, tracking_uri=..., registry_uri=...)`
(`mlflow/store/artifact/artifact_repository_registry.py`), but azureml-mlflow 1.60 registers
`azureml_artifacts_builder(artifact_uri=None)`, so every `azureml://` artifact download or upload
fails with "azureml_artifacts_builder() got an unexpected keyword argument 'tracking_uri'", on
real Azure as much as anywhere. Later azureml-mlflow releases take the keywords but cap MLflow
below the version pinned here.

`install()` re-registers the scheme, through MLflow's artifact repository registry, with a builder
that takes the keywords. It also makes the repository find its workspace: azureml-mlflow's
repository reads the workspace (service context) from the *global* tracking URI, so the builder
uses the `tracking_uri` it is given as the global one while the repository is made. Nothing is
changed when the installed builder already takes `tracking_uri` (a fixed azureml-mlflow).
"""

from __future__ import annotations

import inspect
from typing import Any

SCHEME = "azureml"
_installed = False


def needed() -> bool:
    """True when azureml-mlflow is installed and its artifact builder lacks MLflow 3's keywords."""
    try:
        from azureml.mlflow.entry_point_loaders import azureml_artifacts_builder
    except ImportError:
        return False
    return "tracking_uri" not in inspect.signature(azureml_artifacts_builder).parameters


def install() -> None:
    """Register the `azureml` artifact scheme with `azureml_artifact_repository` (once, if needed)."""
    global _installed
    if _installed or not needed():
        return
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry

    _artifact_repository_registry.register(SCHEME, azureml_artifact_repository)
    _installed = True


def azureml_artifact_repository(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> Any:
    """azureml-mlflow's artifact repository for `artifact_uri`, in the workspace of `tracking_uri`."""
    from azureml.mlflow._store.artifact.artifact_repo import AzureMLflowArtifactRepository
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    workspace_uri = next(
        (uri for uri in (tracking_uri, registry_uri) if uri and uri.startswith(SCHEME)), None
    )
    if workspace_uri is None:
        return AzureMLflowArtifactRepository(artifact_uri)
    with _use_tracking_uri(workspace_uri):
        return AzureMLflowArtifactRepository(artifact_uri)
