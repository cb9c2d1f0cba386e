"""Where local state lives: `.rollout/` in the working directory, or `$ROLLOUT_HOME`."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "ROLLOUT_HOME"


def home() -> Path:
    """The local state directory (created on demand by its users, mode 0700)."""
    return Path(os.environ.get(HOME_ENV, ".rollout")).resolve()


def ensure_home() -> Path:
    path = home()
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


ROLLOUT_SCHEME = "rollout"  # MLflow URIs of the project's own plugin: rollout://local


def registry_uri() -> str:
    """MLflow tracking and registry URI of the local target: `$MLFLOW_TRACKING_URI` or SQLite.

    A `rollout://` tracking URI names the local registry through the project's MLflow plugin; it
    resolves to the SQLite file here, so the emulator (and everything else) gets a real store.
    """
    configured = os.environ.get("MLFLOW_TRACKING_URI", "")
    if configured and not configured.startswith(f"{ROLLOUT_SCHEME}:"):
        return configured
    return f"sqlite:///{home() / 'mlflow.db'}"


def artifacts_dir() -> Path:
    """Where the local registry keeps model artifacts."""
    return home() / "artifacts"


def emulator_dir() -> Path:
    """Default state directory of the local emulator."""
    return home() / "emulator"


def environments_dir() -> Path:
    """Where the emulator's deployment environments are built and kept: `$ROLLOUT_ENVIRONMENTS_DIR`,
    else `environments/` in the local state directory (beside, not inside, an emulator's state, so
    every emulator, endpoint and deployment of this state directory shares it)."""
    configured = os.environ.get("ROLLOUT_ENVIRONMENTS_DIR")
    return Path(configured).resolve() if configured else home() / "environments"
