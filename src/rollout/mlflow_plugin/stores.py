"""MLflow's tracking and model-registry stores for the `rollout` scheme (entry points
`mlflow.tracking_store` and `mlflow.model_registry_store`).

`rollout://local` stands for the local registry the emulator serves models from. MLflow builds one
store per URI and keeps it for the life of the process, while what `rollout://local` means
follows `$ROLLOUT_HOME`; so each store here hands every call to the real store (SQLite, as MLflow
itself builds it) of the registry the URI resolves to at that moment.

The registry store adds what the Azure workspace registry does and a plain MLflow registry does
not: `create_model_version` from a local (`file://`) source copies the model into the registry's
artifact store, and creates the registered model when it does not exist.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from rollout.mlflow_plugin import location

_stores: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def tracking_store(store_uri: str, artifact_uri: str | None = None) -> LocalTrackingStore:
    """The `mlflow.tracking_store` builder for `rollout://local`."""
    location.check_uri(store_uri)
    return LocalTrackingStore(store_uri, artifact_uri)


def registry_store(store_uri: str, tracking_uri: str | None = None) -> LocalRegistryStore:
    """The `mlflow.model_registry_store` builder for `rollout://local`."""
    location.check_uri(store_uri)
    return LocalRegistryStore(store_uri)


class _Delegating:
    """Hands every attribute not defined here to the real store of the resolved registry."""

    def __init__(self, store_uri: str) -> None:
        self.store_uri = store_uri

    def resolved_uri(self) -> str:
        return location.registry_uri(self.store_uri)

    def real_store(self) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.real_store(), name)


class LocalTrackingStore(_Delegating):
    """MLflow's tracking store of the local registry (runs, experiments, artifacts)."""

    def __init__(self, store_uri: str, artifact_uri: str | None = None) -> None:
        super().__init__(store_uri)
        self.artifact_uri = artifact_uri

    def real_store(self) -> Any:
        from mlflow.tracking._tracking_service.utils import _get_store

        resolved = self.resolved_uri()
        artifacts = self.artifact_uri or location.artifacts_uri()
        return _cached(("tracking", resolved), lambda: _get_store(resolved, artifacts))


class LocalRegistryStore(_Delegating):
    """MLflow's model-registry store of the local registry, registering local models as Azure does."""

    def real_store(self) -> Any:
        from mlflow.tracking._model_registry.utils import _get_store

        resolved = self.resolved_uri()
        return _cached(("registry", resolved), lambda: _get_store(resolved, resolved))

    def create_model_version(  # noqa: PLR0913 (MLflow's AbstractStore signature)
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Any = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> Any:
        """A new version of model `name`; a local `source` is first copied into the registry's
        artifact store (as a run's `model` artifact), and a missing registered model is created."""
        store = self.real_store()
        local = local_model_dir(source)
        if local is not None:
            run_id, source = self._upload(name, local, run_id)
        ensure_registered_model(store, name)
        return store.create_model_version(
            name,
            source,
            run_id=run_id,
            tags=tags,
            run_link=run_link,
            description=description,
            local_model_path=local_model_path,
            model_id=model_id,
        )

    def _upload(self, name: str, model_dir: Path, run_id: str | None) -> tuple[str, str]:
        from rollout import registry
        from rollout.core import paths

        resolved = self.resolved_uri()
        return registry.upload_model(
            registry.client(resolved), name, model_dir, artifacts_dir=paths.artifacts_dir(), run_id=run_id
        )


def local_model_dir(source: str) -> Path | None:
    """The directory of a `file://` (or plain path) model source; None for any other source."""
    parsed = urlparse(source)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and Path(source).is_dir():
        return Path(source).resolve()
    return None


def ensure_registered_model(store: Any, name: str) -> None:
    """Create registered model `name` unless it exists."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

    try:
        store.get_registered_model(name)
    except MlflowException as error:
        if error.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            raise
        store.create_registered_model(name)


def _cached(key: tuple[str, str], build: Any) -> Any:
    with _lock:
        if key not in _stores:
            _stores[key] = build()
        return _stores[key]
