"""The workspace's code and environment versions, with Azure's rules (`assets`), kept in the store.

Names are case-sensitive, as Azure ML's asset names are. Methods are synchronous and cheap; they
return copies. Given a `store`, the state restores itself from it and writes every change through.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import TypeVar

from rollout.emulator.assets import (
    CODES,
    ENVIRONMENTS,
    CodeVersion,
    EnvironmentVersion,
    asset_reference,
    check_code_change,
    check_environment_change,
    validate_asset_name,
    validate_environment,
)
from rollout.emulator.errors import NotFound, ResourceNotFound
from rollout.emulator.resources import Deployment
from rollout.emulator.store import Store

Asset = TypeVar("Asset", CodeVersion, EnvironmentVersion)


class AssetState:
    """Code versions and environment versions of the one workspace."""

    def __init__(self, store: Store | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._codes: dict[tuple[str, str], CodeVersion] = {}
        self._environments: dict[tuple[str, str], EnvironmentVersion] = {}
        if store is not None:
            self._codes = {(c.name, c.version): c for c in store.load_code_versions()}
            self._environments = {(e.name, e.version): e for e in store.load_environment_versions()}

    # Code versions -----------------------------------------------------------------------------

    def put_code(self, code: CodeVersion) -> tuple[CodeVersion, bool]:
        """Register a code version, or change an existing one's description, tags or archiving.
        Returns it and whether it is new."""
        validate_asset_name(CODES, code.name, code.version)
        existing = self._codes.get((code.name, code.version))
        if existing is not None:
            check_code_change(existing, code)
        stored = self._stamped(code, existing)
        self._codes[(code.name, code.version)] = stored
        self._save(stored)
        return copy.deepcopy(stored), existing is None

    def get_code(self, name: str, version: str) -> CodeVersion:
        found = self._codes.get((name, version))
        if found is None:
            raise NotFound(f"Code version {name}:{version} does not exist in this workspace.")
        return copy.deepcopy(found)

    def list_codes(self, name: str) -> list[CodeVersion]:
        """The versions of one code asset, newest first."""
        found = [c for (owner, _), c in self._codes.items() if owner == name]
        return [copy.deepcopy(c) for c in sorted(found, key=lambda c: c.created_at, reverse=True)]

    def find_codes(self, content_hash: str, hash_version: str | None = None) -> list[CodeVersion]:
        """The code versions of any name whose folder has this content hash (azure-ai-ml's reuse
        check: an anonymous code folder gets a fresh name every time, so Azure matches by hash)."""
        return [
            copy.deepcopy(code)
            for code in self._codes.values()
            if code.content_hash is not None
            and code.content_hash[0] == content_hash
            and (not hash_version or code.content_hash[1] in ("", hash_version))
        ]

    # Environment versions ----------------------------------------------------------------------

    def put_environment(self, environment: EnvironmentVersion) -> tuple[EnvironmentVersion, bool]:
        """Register an environment version, or change an existing one's description, tags or archiving.
        Returns it and whether it is new."""
        validate_asset_name(ENVIRONMENTS, environment.name, environment.version)
        validate_environment(environment)
        existing = self._environments.get((environment.name, environment.version))
        if existing is not None:
            check_environment_change(existing, environment)
        stored = self._stamped(environment, existing)
        self._environments[(environment.name, environment.version)] = stored
        self._save(stored)
        return copy.deepcopy(stored), existing is None

    def get_environment(self, name: str, version: str) -> EnvironmentVersion:
        found = self._environments.get((name, version))
        if found is None:
            raise NotFound(f"Environment version {name}:{version} does not exist in this workspace.")
        return copy.deepcopy(found)

    def list_environments(self, name: str) -> list[EnvironmentVersion]:
        """The versions of one environment, newest first."""
        found = [e for (owner, _), e in self._environments.items() if owner == name]
        return [copy.deepcopy(e) for e in sorted(found, key=lambda e: e.created_at, reverse=True)]

    # What deployments name ---------------------------------------------------------------------

    def check_deployment(self, deployment: Deployment, workspace: str) -> None:
        """The code and environment versions a deployment names exist (404 ResourceNotFound if not);
        a packaged model's environment is the package's, not a registered one."""
        if deployment.code_id is not None:
            self.referenced_code(deployment.code_id, workspace)
        if deployment.environment and not deployment.package_model:
            self.referenced_environment(deployment.environment, workspace)

    def referenced_code(self, code_id: str, workspace: str) -> CodeVersion:
        """The code version a deployment's `codeConfiguration.codeId` names (404 ResourceNotFound if none)."""
        name, version = asset_reference(CODES, code_id, workspace)
        found = self._codes.get((name, version))
        if found is None:
            raise ResourceNotFound(
                f"The code version {name}:{version} that codeConfiguration.codeId '{code_id}' names was not "
                "found in this workspace. Register the code folder first (azure-ai-ml uploads it when "
                "code_configuration.code is a local folder)."
            )
        return copy.deepcopy(found)

    def referenced_environment(self, environment_id: str, workspace: str) -> EnvironmentVersion:
        """The environment version a deployment's `environmentId` names (404 ResourceNotFound if none)."""
        name, version = asset_reference(ENVIRONMENTS, environment_id, workspace)
        found = self._environments.get((name, version))
        if found is None:
            raise ResourceNotFound(
                f"The environment version {name}:{version} that environmentId '{environment_id}' names was "
                "not found in this workspace. Register the environment first (azure-ai-ml registers an "
                "inline environment as an anonymous one)."
            )
        return copy.deepcopy(found)

    # Internals ---------------------------------------------------------------------------------

    def _stamped(self, asset: Asset, existing: Asset | None) -> Asset:
        stored = copy.deepcopy(asset)
        now = self._clock()
        stored.created_at = existing.created_at if existing is not None else now
        stored.modified_at = now
        if existing is not None:
            stored.is_anonymous = existing.is_anonymous  # set at creation only
        return stored

    def _save(self, asset: CodeVersion | EnvironmentVersion) -> None:
        if self._store is not None:
            self._store.save_asset(asset)
