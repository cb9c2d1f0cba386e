"""SQLite persistence of the emulator's state: endpoints (with keys, traffic, mirror), deployments,
packaged models, code and environment versions, and secrets.

The state directory is kept at mode 0700 and the database at 0600 (SQLite gives its journal the
database's mode), since it holds endpoint keys and the token signing key. Nothing here logs.
The store rebuilds `resources` and `assets` dataclasses; `state.EmulatorState` and
`asset_state.AssetState` read and write through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rollout.emulator.assets import CODES, ENVIRONMENTS, AssetVersion, CodeVersion, EnvironmentVersion
from rollout.emulator.private_dir import ensure_private_dir
from rollout.emulator.resources import Deployment, Endpoint, ModelPackage, Probe, RequestSettings

DATABASE_NAME = "state.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (
    endpoint TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (endpoint, name)
);
CREATE TABLE IF NOT EXISTS packages (
    environment_name TEXT NOT NULL, environment_version TEXT NOT NULL, model_uri TEXT NOT NULL,
    PRIMARY KEY (environment_name, environment_version)
);
CREATE TABLE IF NOT EXISTS assets (
    kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, name, version)
);
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """The state database of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        ensure_private_dir(state_dir)
        self.path = state_dir / DATABASE_NAME
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path.chmod(0o600)
        self._lock = threading.RLock()  # a transaction's writes take it again
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes inside are one change: all of them are kept, or (an error, a crash) none."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Endpoints and deployments -----------------------------------------------------------------

    def load_endpoints(self) -> list[Endpoint]:
        rows = self._query("SELECT body FROM endpoints ORDER BY name")
        return [endpoint_from_dict(json.loads(body)) for (body,) in rows]

    def load_deployments(self) -> list[Deployment]:
        rows = self._query("SELECT body FROM deployments ORDER BY endpoint, name")
        return [deployment_from_dict(json.loads(body)) for (body,) in rows]

    def save_endpoint(self, endpoint: Endpoint) -> None:
        self._execute(
            "INSERT OR REPLACE INTO endpoints (name, body) VALUES (?, ?)",
            (endpoint.name.lower(), json.dumps(asdict(endpoint))),
        )

    def delete_endpoint(self, name: str) -> None:
        with self.transaction():
            self._execute("DELETE FROM deployments WHERE endpoint = ?", (name.lower(),))
            self._execute("DELETE FROM endpoints WHERE name = ?", (name.lower(),))

    def save_deployment(self, deployment: Deployment) -> None:
        self._execute(
            "INSERT OR REPLACE INTO deployments (endpoint, name, body) VALUES (?, ?, ?)",
            (deployment.endpoint.lower(), deployment.name.lower(), json.dumps(asdict(deployment))),
        )

    def delete_deployment(self, endpoint: str, name: str) -> None:
        self._execute(
            "DELETE FROM deployments WHERE endpoint = ? AND name = ?", (endpoint.lower(), name.lower())
        )

    # Code and environment versions -------------------------------------------------------------

    def load_code_versions(self) -> list[CodeVersion]:
        return [CodeVersion(**_known(CodeVersion, body)) for body in self._assets(CODES)]

    def load_environment_versions(self) -> list[EnvironmentVersion]:
        return [EnvironmentVersion(**_known(EnvironmentVersion, body)) for body in self._assets(ENVIRONMENTS)]

    def save_asset(self, asset: AssetVersion) -> None:
        """Keep a code or environment version."""
        kind = {CodeVersion: CODES, EnvironmentVersion: ENVIRONMENTS}[type(asset)]
        self._execute(
            "INSERT OR REPLACE INTO assets (kind, name, version, body) VALUES (?, ?, ?, ?)",
            (kind, asset.name, asset.version, json.dumps(asdict(asset))),
        )

    def _assets(self, kind: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT body FROM assets WHERE kind = ? ORDER BY name, version", (kind,))
        return [json.loads(body) for (body,) in rows]

    # Packages and secrets ----------------------------------------------------------------------

    def load_packages(self) -> list[ModelPackage]:
        rows = self._query("SELECT environment_name, environment_version, model_uri FROM packages")
        return [ModelPackage(*row) for row in rows]

    def save_package(self, package: ModelPackage) -> None:
        self._execute(
            "INSERT OR REPLACE INTO packages VALUES (?, ?, ?)",
            (package.environment_name, package.environment_version, package.model_uri),
        )

    def secret(self, name: str) -> str:
        """A named random secret, created on first use and kept across restarts."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO secrets VALUES (?, ?)", (name, secrets.token_hex(32)))
            (value,) = self._db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        return value

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, params)


def _known(kind: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of `data` the dataclass `kind` has (a later version may have written others)."""
    known = kind.__dataclass_fields__
    return {key: value for key, value in data.items() if key in known}


def endpoint_from_dict(data: dict[str, Any]) -> Endpoint:
    return Endpoint(**_known(Endpoint, data))


def deployment_from_dict(data: dict[str, Any]) -> Deployment:
    fields = _known(Deployment, data)
    fields["request_settings"] = RequestSettings(**fields.get("request_settings", {}))
    fields["liveness_probe"] = Probe(**fields.get("liveness_probe", {}))
    fields["readiness_probe"] = Probe(**fields.get("readiness_probe", {}))
    return Deployment(**fields)
