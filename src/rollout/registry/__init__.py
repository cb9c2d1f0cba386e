"""Small helpers around `MlflowClient` for the model registry (local SQLite or a workspace's).

A workspace's registry (`azureml://...`, through azureml-mlflow) takes a model directory as it is:
`create_model_version(name, source=<directory as file URI>)` uploads it to the workspace's
artifact store and registers the uploaded copy, so no run is needed. A local registry keeps
models as artifacts of a run.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from rollout.core.errors import UserError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models import Model

EXPERIMENT = "rollout"
WORKSPACE_SCHEME = "azureml:"
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/]+)/(?P<version>\d+|latest)/?$")


def client(tracking_uri: str) -> MlflowClient:
    """A client whose tracking and registry URIs are both `tracking_uri`."""
    from mlflow import MlflowClient

    if is_workspace_registry(tracking_uri):
        from rollout.registry import azureml_artifacts

        azureml_artifacts.install()
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def is_workspace_registry(tracking_uri: str) -> bool:
    """True for an Azure ML workspace's registry (azureml-mlflow), which uploads model directories."""
    return tracking_uri.startswith(WORKSPACE_SCHEME)


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI, None for any other kind of registry."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    return Path(urlparse(tracking_uri).path)


def registry_exists(tracking_uri: str) -> bool:
    """False for a local SQLite registry not created yet (opening it would create it)."""
    database = sqlite_file(tracking_uri)
    return database is None or database.is_file()


def experiment_id(mlflow_client: MlflowClient, artifacts_dir: Path, name: str = EXPERIMENT) -> str:
    """The id of experiment `name`, created on first use with its artifacts under `artifacts_dir`.

    The artifact location is only set for a local registry; a remote one places artifacts itself.
    """
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    local = sqlite_file(mlflow_client.tracking_uri) is not None
    location = Path(artifacts_dir).resolve().as_uri() if local else None
    return mlflow_client.create_experiment(name, artifact_location=location)


def register_model(
    mlflow_client: MlflowClient,
    name: str,
    model_dir: Path,
    *,
    artifacts_dir: Path,
    run_id: str | None = None,
) -> int:
    """Upload an MLflow model directory as a run's `model` artifact and register it; the new version.

    Without `run_id`, a run named `register <name>` is created (and ended) to hold the artifact.
    A workspace's registry gets the directory itself (see the module's notes); `run_id` is then
    only recorded as a tag.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "MLmodel").is_file():
        raise UserError(f"{model_dir} is not an MLflow model directory (it has no MLmodel file)")
    if is_workspace_registry(mlflow_client.tracking_uri):
        return register_directory(mlflow_client, name, model_dir, {"run_id": run_id} if run_id else None)
    run_id, source = upload_model(mlflow_client, name, model_dir, artifacts_dir=artifacts_dir, run_id=run_id)
    ensure_registered_model(mlflow_client, name)
    version = mlflow_client.create_model_version(name, source=source, run_id=run_id)
    return int(version.version)


def upload_model(
    mlflow_client: MlflowClient,
    name: str,
    model_dir: Path,
    *,
    artifacts_dir: Path,
    run_id: str | None = None,
) -> tuple[str, str]:
    """Copy an MLflow model directory into a local registry's artifact store as a run's `model`
    artifact. Returns the run's id and the artifact's URI (the source of a model version). Without
    `run_id`, a run named `register <name>` is created (and ended) to hold the artifact.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "MLmodel").is_file():
        raise UserError(f"{model_dir} is not an MLflow model directory (it has no MLmodel file)")
    own_run = run_id is None
    if run_id is None:
        run_id = mlflow_client.create_run(
            experiment_id(mlflow_client, artifacts_dir), run_name=f"register {name}"
        ).info.run_id
    mlflow_client.log_artifacts(run_id, str(model_dir), "model")
    if own_run:
        mlflow_client.set_terminated(run_id)
    artifact_uri = mlflow_client.get_run(run_id).info.artifact_uri
    return run_id, f"{artifact_uri}/model"


def register_directory(
    mlflow_client: MlflowClient, name: str, model_dir: Path, tags: dict[str, str] | None = None
) -> int:
    """Register a model directory as a new version in a workspace's registry, which uploads it."""
    ensure_registered_model(mlflow_client, name)
    source = Path(model_dir).resolve().as_uri()
    return int(mlflow_client.create_model_version(name, source=source, tags=tags).version)


def ensure_registered_model(mlflow_client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(name)
    except MlflowException:
        mlflow_client.create_registered_model(name)


def parse_model_uri(uri: str) -> tuple[str, str] | None:
    """`models:/<name>/<version|latest>` as (name, version); None for anything else."""
    match = _MODEL_URI.match(uri)
    return (match["name"], match["version"]) if match else None


def latest_version(mlflow_client: MlflowClient, name: str) -> int | None:
    """The highest registered version number of model `name`, None if it has none."""
    versions = mlflow_client.search_model_versions(f"name = '{name}'")
    return max((int(version.version) for version in versions), default=None)


def find_version(tracking_uri: str, name: str, version: int | str) -> ModelVersion | None:
    """Model version `name`/`version` (a number or `latest`), None when the registry lacks it.

    A local SQLite registry that does not exist yet is not created.
    """
    from mlflow.exceptions import MlflowException

    if not registry_exists(tracking_uri):
        return None
    mlflow_client = client(tracking_uri)
    try:
        if version == "latest":
            newest = latest_version(mlflow_client, name)
            if newest is None:
                return None
            version = newest
        return mlflow_client.get_model_version(name, str(version))
    except MlflowException:
        return None


def get_version(tracking_uri: str, name: str, version: int | str) -> ModelVersion:
    """Like `find_version`, but a UserError when the registry lacks the version."""
    found = find_version(tracking_uri, name, version)
    if found is None:
        raise UserError(f"model {name} version {version} is not in the registry at {tracking_uri}")
    return found


def load_mlmodel(tracking_uri: str, version: ModelVersion) -> Model:
    """The `MLmodel` metadata (signature, metadata, flavors) of a registered version; no weights."""
    import mlflow.artifacts
    from mlflow.models import Model

    source = client(tracking_uri).get_model_version_download_uri(version.name, version.version)
    if source.startswith("file:"):
        return Model.load(str(Path(urlparse(source).path) / "MLmodel"))
    with tempfile.TemporaryDirectory(prefix="rollout-mlmodel-") as scratch:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{source.rstrip('/')}/MLmodel", dst_path=scratch, tracking_uri=tracking_uri
        )
        return Model.load(local)


def quiet_logs() -> None:
    """Keep MLflow's informational chatter (database set-up, alembic) out of command output."""
    import logging
    import os

    import mlflow  # noqa: F401  (it sets its loggers up on import; adjust them after that)

    for logger in ("mlflow", "alembic"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
