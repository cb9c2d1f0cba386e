"""The MLflow model registry behind the emulated workspace's models (`azureml:<name>:<version>`).

Calls are blocking (MLflow); the HTTP layer runs them in worker threads.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("rollout.emulator")


@dataclass(frozen=True)
class RegisteredVersion:
    """One model version as the registry holds it."""

    name: str
    version: str
    source: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    created_ms: int = 0
    modified_ms: int = 0
    run_id: str | None = None


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model and its latest version."""

    name: str
    latest_version: str | None
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    created_ms: int = 0
    modified_ms: int = 0


class ModelRegistry:
    """Read access to the versions in one MLflow registry; versions whose files are not on this
    machine are downloaded into `downloads_dir`."""

    def __init__(self, registry_uri: str, downloads_dir: Path | None = None) -> None:
        self.registry_uri = registry_uri
        self.downloads_dir = downloads_dir
        self._client: Any = None
        self._missing: type[Exception] = Exception
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Import MLflow and open the registry ahead of the first request (a failure is logged; the
        first request meets it again and answers it)."""
        try:
            self._mlflow()
        except Exception as error:
            log.warning("the registry %s could not be opened ahead of requests: %s", self.registry_uri, error)

    def get_version(self, name: str, version: str) -> RegisteredVersion | None:
        """The version, or None when it does not exist or did not finish registering."""
        client = self._mlflow()
        try:
            found = client.get_model_version(name, str(version))
        except self._missing as error:
            if (
                getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"
                or "not found" in str(error).lower()
            ):
                return None
            raise
        if getattr(found, "status", "READY") != "READY":
            return None
        return _version(found)

    def list_versions(self, name: str) -> list[RegisteredVersion] | None:
        """All ready versions of a model, newest first; None when the model does not exist."""
        client = self._mlflow()
        try:
            client.get_registered_model(name)
        except self._missing as error:
            if getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        escaped = name.replace("'", "\\'")
        found = client.search_model_versions(f"name = '{escaped}'")
        ready = [_version(v) for v in found if getattr(v, "status", "READY") == "READY"]
        return sorted(ready, key=_version_order, reverse=True)

    def get_model(self, name: str) -> RegisteredModel | None:
        client = self._mlflow()
        try:
            model = client.get_registered_model(name)
        except self._missing as error:
            if getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return self._model(model)

    def list_models(self) -> list[RegisteredModel]:
        return [self._model(model) for model in self._mlflow().search_registered_models()]

    def _model(self, model: Any) -> RegisteredModel:
        versions = self.list_versions(model.name) or []
        return RegisteredModel(
            name=model.name,
            latest_version=versions[0].version if versions else None,
            description=model.description or None,
            tags=dict(model.tags or {}),
            created_ms=int(model.creation_timestamp or 0),
            modified_ms=int(model.last_updated_timestamp or 0),
        )

    def local_files(self, version: RegisteredVersion) -> Path:
        """The directory holding the version's files: the registry's own copy when it is on this
        machine, else a download of it (kept under `downloads_dir`)."""
        uri = self._mlflow().get_model_version_download_uri(version.name, version.version)
        parsed = urllib.parse.urlparse(uri)
        if parsed.scheme == "file":
            return Path(urllib.parse.unquote(parsed.path))
        if not parsed.scheme and Path(uri).is_absolute():
            return Path(uri)
        if self.downloads_dir is None:
            raise RuntimeError(f"model {version.name}:{version.version} is not on this machine: {uri}")
        import mlflow.artifacts

        target = self.downloads_dir / version.name / version.version
        done = target.with_name(f"{version.version}.path")  # written once the download is whole
        if done.is_file():
            return Path(done.read_text())
        target.mkdir(parents=True, exist_ok=True)
        downloaded = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target))
        done.write_text(downloaded)
        return Path(downloaded)

    def client(self) -> Any:
        """The registry's `MlflowClient` (blocking), for the workspace's MLflow surface."""
        return self._mlflow()

    def _mlflow(self) -> Any:
        """The registry client. MLflow is imported here, under the lock: importing it from two threads
        at once can hand one of them a half-initialised module."""
        with self._lock:
            if self._client is None:
                from mlflow.exceptions import MlflowException
                from mlflow.tracking import MlflowClient

                self._missing = MlflowException
                self._client = MlflowClient(tracking_uri=self.registry_uri, registry_uri=self.registry_uri)
            return self._client


def _version(found: Any) -> RegisteredVersion:
    return RegisteredVersion(
        name=found.name,
        version=str(found.version),
        source=found.source,
        description=found.description or None,
        tags=dict(found.tags or {}),
        created_ms=int(found.creation_timestamp or 0),
        modified_ms=int(found.last_updated_timestamp or 0),
        run_id=found.run_id or None,
    )


def _version_order(version: RegisteredVersion) -> tuple[int, str]:
    return (int(version.version), "") if version.version.isdigit() else (-1, version.version)
