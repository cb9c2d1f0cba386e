"""The route table of the workspace's MLflow surface, its artifact service and blob storage.

The MLflow surface and the artifact service are authorised as the workspace's models: reading
needs `workspaces/models/read`, anything else `workspaces/models/write`. Blobs check their SAS or
the caller's data actions themselves.
"""

from __future__ import annotations

from starlette.routing import Route

from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX
from rollout.emulator.control.artifacts import ArtifactApi
from rollout.emulator.control.blob_lease_api import BlobLeaseApi
from rollout.emulator.control.guard import Guard, Handler
from rollout.emulator.control.mlflow_surface import MlflowSurface, mlflow_error
from rollout.emulator.control.workspace import PROVIDER, WORKSPACE_PATH

MLFLOW = "/mlflow/{mlflow_api}" + WORKSPACE_PATH + "/api/2.0/mlflow/{operation:path}"
ARTIFACTS = "/artifact/v2.0" + WORKSPACE_PATH + "/artifacts/{origin}/{container}"
CONTAINER = f"/{STORAGE_ACCOUNT}.blob.{STORAGE_SUFFIX}" + "/{container}"
BLOB = CONTAINER + "/{blob:path}"
MODELS = PROVIDER + "/workspaces/models"


def models_action(method: str) -> str:
    """What a request to the MLflow surface or the artifact service needs."""
    return MODELS + ("/read" if method.upper() in ("GET", "HEAD") else "/write")


def routes(mlflow: MlflowSurface, artifacts: ArtifactApi, blobs: BlobLeaseApi, guard: Guard) -> list[Route]:
    """MLflow (guarded, MLflow's errors), the artifact service (guarded, no api-version) and blobs (SAS)."""
    guarded: list[tuple[str, str, Handler]] = [
        ("POST", ARTIFACTS + "/batch/metadata", artifacts.create_empty_artifacts),
        ("GET", ARTIFACTS + "/contentinfo", artifacts.content_information),
        ("GET", ARTIFACTS + "/metadata", artifacts.artifact_metadata),
        ("GET", ARTIFACTS, artifacts.list_artifacts),
    ]
    table = [
        Route(
            MLFLOW,
            guard.wrap(mlflow.call, api_version=False, render=mlflow_error, action=models_action),
            methods=["GET", "POST", "PATCH"],
            name="mlflow.call",
        ),
        *(
            Route(
                path,
                guard.wrap(handler, api_version=False, action=models_action(method)),
                methods=[method],
                name=f"artifacts.{handler.__name__}",
            )
            for method, path, handler in guarded
        ),
        Route(BLOB, blobs.put_blob, methods=["PUT"], name="blob.put"),
        Route(BLOB, blobs.get_blob, methods=["GET", "HEAD"], name="blob.get"),
        Route(BLOB, blobs.delete_blob, methods=["DELETE"], name="blob.delete"),
        Route(CONTAINER, blobs.container_properties, methods=["GET", "HEAD"], name="blob.container"),
    ]
    return table
