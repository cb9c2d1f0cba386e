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
    AssetVersion,
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

Asset = TypeVar("Asset", bound=AssetVersion)
Key = tuple[str, str]  # an asset version's name and version


class AssetState:
    """Code versions and environment versions of the one workspace."""

    def __init__(self, store: Store | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._codes: dict[Key, CodeVersion] = {}
        self._environments: dict[Key, EnvironmentVersion] = {}
        if store is not None:
            self._codes = {(c.name, c.version): c for c in store.load_code_versions()}
            self._environments = {(e.name, e.version): e for e in store.load_environment_versions()}

    # Code versions -----------------------------------------------------------------------------

    def put_code(self, code: CodeVersion) -> tuple[CodeVersion, bool]:
        """Register a code version, or change an existing one's description, tags or archiving.
        Returns it and whether it is new."""
        validate_asset_name(CODES, code.name, code.version)
        return self._put(self._codes, code, check_code_change)

    def get_code(self, name: str, version: str) -> CodeVersion:
        return self._get(self._codes, name, version, "Code")

    def list_codes(self, name: str) -> list[CodeVersion]:
        """The versions of one code asset, newest first."""
        return _newest_first(self._codes, name)

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
        return self._put(self._environments, environment, check_environment_change)

    def get_environment(self, name: str, version: str) -> EnvironmentVersion:
        return self._get(self._environments, name, version, "Environment")

    def list_environments(self, name: str) -> list[EnvironmentVersion]:
        """The versions of one environment, newest first."""
        return _newest_first(self._environments, name)

    # What deployments name ---------------------------------------------------------------------

    def check_deployment(self, deployment: Deployment, workspace: str) -> None:
        """The code and environment versions a deployment names exist (404 ResourceNotFound if not);
        a packaged model's environment is the package's, not a registered one."""
        named: list[tuple[str, str, str, str]] = []
        if deployment.code_id is not None:
            advice = "Register the code folder first (azure-ai-ml uploads a local code_configuration.code)."
            named.append((CODES, deployment.code_id, "codeConfiguration.codeId", advice))
        if deployment.environment and not deployment.package_model:
            advice = "Register the environment first (azure-ai-ml registers an inline one as anonymous)."
            named.append((ENVIRONMENTS, deployment.environment, "environmentId", advice))
        for kind, reference, field, advice in named:
            name, version = asset_reference(kind, reference, workspace)
            known = self._codes if kind == CODES else self._environments
            if (name, version) not in known:
                what = "code" if kind == CODES else "environment"
                raise ResourceNotFound(
                    f"The {what} version {name}:{version} that {field} '{reference}' names was not found "
                    f"in this workspace. {advice}"
                )

    # Internals ---------------------------------------------------------------------------------

    def _put(
        self, table: dict[Key, Asset], asset: Asset, check_change: Callable[[Asset, Asset], None]
    ) -> tuple[Asset, bool]:
        existing = table.get((asset.name, asset.version))
        if existing is not None:
            check_change(existing, asset)
        stored = copy.deepcopy(asset)
        now = self._clock()
        stored.created_at = existing.created_at if existing is not None else now
        stored.modified_at = now
        if existing is not None:
            stored.is_anonymous = existing.is_anonymous  # set at creation only
        table[(asset.name, asset.version)] = stored
        if self._store is not None:
            self._store.save_asset(stored)
        return copy.deepcopy(stored), existing is None

    @staticmethod
    def _get(table: dict[Key, Asset], name: str, version: str, kind: str) -> Asset:
        found = table.get((name, version))
        if found is None:
            raise NotFound(f"{kind} version {name}:{version} does not exist in this workspace.")
        return copy.deepcopy(found)


def _newest_first(table: dict[Key, Asset], name: str) -> list[Asset]:
    found = [asset for (owner, _), asset in table.items() if owner == name]
    return [copy.deepcopy(asset) for asset in sorted(found, key=lambda a: a.created_at, reverse=True)]
