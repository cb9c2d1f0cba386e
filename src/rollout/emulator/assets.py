"""The workspace assets a deployment with a scoring script names, and Azure's rules about them. No HTTP,
no state.

A code version is a folder uploaded to blob storage (`codeUri`, here a folder of the emulator's own
storage account, kept as its blob container and prefix so that a runtime finds the files on disk);
an environment version is a conda file and a base image (or a Docker build context). azure-ai-ml
registers both before it PUTs a deployment with `code_configuration` and an inline `environment`:
the code folder under a fresh name at version 1 (found again by its content hash), the environment
as the anonymous `CliV2AnonymousEnvironment` at a version that is a hash of its content.

Azure's rules: asset names of letters, digits, `-` and `_` (environments also `.`); a code
version's path cannot change ("Asset paths cannot be updated."); an environment version's image,
conda file and build cannot change once registered (409); description, tags and archiving can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rollout.emulator.errors import BadArgument, Conflict, ProvisioningUserError

CODES = "codes"
ENVIRONMENTS = "environments"
HASH_PROPERTY = "hash_sha256"
HASH_VERSION_PROPERTY = "hash_version"

_NAME_PATTERNS = {
    CODES: re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$"),
    ENVIRONMENTS: re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$"),
}
_VERSION_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,99}$")
_KIND_NAMES = {CODES: "code", ENVIRONMENTS: "environment"}
_ARM_ID = re.compile(
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<workspace>[^/]+)"
    r"/(?P<kind>codes|environments)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$",
    re.IGNORECASE,
)
_SHORT_ID = re.compile(r"^azureml:(?P<name>[^:/@]+):(?P<version>[^:/@]+)$")


@dataclass(kw_only=True)
class AssetVersion:
    """What every asset version has (Azure's AssetBase): a name and version, a description, tags,
    properties, whether the name and version were generated (anonymous) and whether it is archived."""

    name: str
    version: str
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    is_anonymous: bool = False
    is_archived: bool = False
    created_at: float = 0.0
    modified_at: float = 0.0


@dataclass(kw_only=True)
class CodeVersion(AssetVersion):
    """A code version: a folder of the emulator's blob storage (`container`, under `prefix`)."""

    code_uri: str
    container: str
    prefix: str

    @property
    def content_hash(self) -> tuple[str, str] | None:
        """The folder's content hash and its hash version, as azure-ai-ml computed them."""
        found = self.properties.get(HASH_PROPERTY)
        return (found, self.properties.get(HASH_VERSION_PROPERTY, "")) if found else None


@dataclass(kw_only=True)
class EnvironmentVersion(AssetVersion):
    """An environment version: a base image and a conda file (or a Docker build context)."""

    image: str | None = None
    conda_file: str | None = None
    build: dict[str, Any] | None = None
    os_type: str = "Linux"
    inference_config: dict[str, Any] | None = None


def validate_asset_name(kind: str, name: str, version: str) -> None:
    """Azure's rules for the name and version of a code or environment version."""
    what = _KIND_NAMES[kind]
    if not _NAME_PATTERNS[kind].match(name):
        allowed = "letters, digits, '-', '_'" + (" and '.'" if kind == ENVIRONMENTS else "")
        raise BadArgument(
            f"The {what} name '{name}' is invalid: it must start with a letter or digit and contain only "
            f"{allowed}, at most 255 characters."
        )
    if not _VERSION_PATTERN.match(version):
        raise BadArgument(
            f"The {what} version '{version}' is invalid: it must start with a letter or digit and contain "
            "only letters, digits, '-', '_' and '.', at most 100 characters."
        )


def validate_environment(environment: EnvironmentVersion) -> None:
    """An environment names a base image or a build context, not both; Linux or Windows."""
    if bool(environment.image) == bool(environment.build):
        raise BadArgument(
            f"Environment {environment.name}:{environment.version} must give either an image or a build "
            "context (docker build), not both and not neither."
        )
    if environment.os_type not in ("Linux", "Windows"):
        raise BadArgument(f"The osType '{environment.os_type}' is invalid; use Linux or Windows.")


def check_code_change(existing: CodeVersion, new: CodeVersion) -> None:
    """A code version registered again keeps its path (its description, tags and archiving may change)."""
    if existing.code_uri.rstrip("/") != new.code_uri.rstrip("/"):
        raise ProvisioningUserError("Asset paths cannot be updated.")


def check_environment_change(existing: EnvironmentVersion, new: EnvironmentVersion) -> None:
    """An environment version registered again keeps its image, conda file, build and OS."""
    changed = [
        label
        for label, before, after in (
            ("image", existing.image, new.image),
            ("conda file", _conda_text(existing.conda_file), _conda_text(new.conda_file)),
            ("build context", existing.build, new.build),
            ("OS type", existing.os_type, new.os_type),
        )
        if before != after
    ]
    if changed:
        raise Conflict(
            f"Environment {existing.name} with version {existing.version} is already registered and cannot "
            f"be changed (its {', '.join(changed)} would change). Register a new version instead."
        )


def asset_reference(kind: str, reference: str, workspace: str) -> tuple[str, str]:
    """Name and version of a code or environment version an id names: the ARM id of this workspace's
    version, or `azureml:<name>:<version>`."""
    what = _KIND_NAMES[kind]
    if reference.startswith("azureml://registries/") or "/registries/" in reference.lower():
        raise BadArgument(
            f"The {what} '{reference}' is in a registry; the emulator serves workspace {kind} only "
            f"(register it in the workspace, as azure-ai-ml does with an inline {what})."
        )
    match = _ARM_ID.search(reference)
    if match and match["kind"].lower() == kind.lower() and match["workspace"] == workspace:
        return match["name"], match["version"]
    match = _SHORT_ID.match(reference)
    if match:
        return match["name"], match["version"]
    raise BadArgument(
        f"The {what} id '{reference}' is not of the form .../workspaces/{workspace}/{kind}/<name>/versions/"
        "<version> or azureml:<name>:<version>."
    )


def _conda_text(conda_file: str | None) -> str | None:
    """A conda file compared without trailing whitespace differences."""
    if conda_file is None:
        return None
    return "\n".join(line.rstrip() for line in conda_file.strip().splitlines())
