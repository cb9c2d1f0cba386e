"""What a `rollout://` URI names: the local target (the emulator) and the MLflow registry it serves
models from.

`rollout://local` (or bare `rollout`) is the only location. On Azure, the article's own
`azureml://` tracking URI (azureml-mlflow) already reaches the workspace's registry and online
endpoints, so there is no `rollout://azure`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from rollout.core import paths

if TYPE_CHECKING:
    from rollout.azureml.local_target import LocalTarget

LOCAL_URI = f"{paths.ROLLOUT_SCHEME}://local"
AZURE_ADVICE = (
    "on Azure, use the workspace's own MLflow tracking URI (azureml://..., from "
    "`az ml workspace show --query mlflow_tracking_uri -o tsv`) with azureml-mlflow"
)

_resolved: dict[Path, str] = {}
_lock = threading.Lock()


def check_uri(uri: str) -> None:
    """An MlflowException unless `uri` is `rollout://local` (or `rollout`)."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    parsed = urlparse(uri)
    if uri == paths.ROLLOUT_SCHEME or (
        parsed.scheme == paths.ROLLOUT_SCHEME and parsed.netloc == "local" and parsed.path in ("", "/")
    ):
        return
    raise MlflowException(
        f"unsupported rollout URI '{uri}': the rollout plugin serves {LOCAL_URI} (the local "
        f"emulator); {AZURE_ADVICE}",
        error_code=INVALID_PARAMETER_VALUE,
    )


def local_target(uri: str, *, start: bool) -> LocalTarget:
    """The local target of `uri`: the emulator of `$ROLLOUT_HOME/emulator` (default
    `.rollout/emulator`), started on first use when `start` is set, as the CLI does."""
    from rollout.azureml.local_target import LocalTarget

    check_uri(uri)
    return LocalTarget(start=start)


def registry_uri(uri: str) -> str:
    """The real MLflow store behind `uri`: the registry the emulator recorded (it serves models
    from it), or the local default (`$ROLLOUT_HOME/mlflow.db`) before the emulator first starts.

    Resolved once per emulator state directory: reading the record asks the emulator whether it
    runs, which is too slow for every store call.
    """
    target = local_target(uri, start=False)
    directory = target.directory
    with _lock:
        found = _resolved.get(directory)
        if found is None:
            found = target.mlflow_uri()
            _resolved[directory] = found
        return found


def artifacts_uri() -> str:
    """Where new experiments of the local registry keep their artifacts."""
    return paths.artifacts_dir().resolve().as_uri()
