"""Building the clients of a target: `local` (the emulator) or `azure`.

The same `MLClient` code runs against both. For `local` it is built with a custom cloud whose
resource-manager URL is the emulator, a static token credential (the emulator's management token)
and the emulator's CA trusted for that client only (azure-core's `connection_verify`; nothing
process-wide such as REQUESTS_CA_BUNDLE is changed). For `azure` it is
`MLClient(DefaultAzureCredential(), subscription, resource_group, workspace)`.

Every function takes the same keyword options, so one dict of options serves them all:
`state_dir`, `start`, `registry_uri` (local), `subscription`, `resource_group`, `workspace` (azure).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout import LOCAL_CLOUD_PREFIX, paths
from rollout.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import AccessToken, TokenCredential

    from rollout.emulator.host.process import EmulatorStatus

TARGETS = ("local", "azure")
AZURE_ENV = {
    "subscription": "AZURE_SUBSCRIPTION_ID",
    "resource_group": "AZURE_RESOURCE_GROUP",
    "workspace": "AZUREML_WORKSPACE",
}
TOKEN_LIFETIME_SECONDS = 3600


class LocalTokenCredential:
    """A static bearer token (the emulator's management token) in azure-core's credential protocol."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + TOKEN_LIFETIME_SECONDS)


def ml_client(
    target: str = "local",
    *,
    state_dir: Path | str | None = None,
    start: bool = False,
    registry_uri: str | None = None,
    subscription: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
    **client_options: Any,
) -> MLClient:
    """A ready `MLClient` for the target. Extra keyword options go to `MLClient` itself."""
    from azure.ai.ml import MLClient

    if _checked(target) == "local":
        from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE
        from rollout.emulator.host.access import read_management_token

        running = emulator_status(state_dir=state_dir, start=start, registry_uri=registry_uri)
        url = running.url.rstrip("/") + "/"
        options: dict[str, Any] = {"enable_telemetry": False, "show_progress": False, **client_options}
        return MLClient(
            LocalTokenCredential(read_management_token(Path(running.state_dir))),
            SUBSCRIPTION_ID,
            RESOURCE_GROUP,
            WORKSPACE,
            cloud=f"{LOCAL_CLOUD_PREFIX}{running.port}",
            cloud_metadata={
                "azure_portal": url,
                "resource_manager": url,
                "active_directory": url,
                "aml_resource_id": url,
                "storage_endpoint": "core.windows.net",
                "registry_discovery_endpoint": url,
            },
            connection_verify=running.ca_file,
            **options,
        )
    scope = azure_scope(subscription=subscription, resource_group=resource_group, workspace=workspace)
    return MLClient(
        credential(target),
        scope["subscription"],
        scope["resource_group"],
        scope["workspace"],
        cloud=client_options.pop("cloud", "AzureCloud"),
        **client_options,
    )


def credential(
    target: str = "local", *, state_dir: Path | str | None = None, start: bool = False, **_: Any
) -> TokenCredential:
    """The credential the target's MLClient uses: the emulator's token, or `DefaultAzureCredential`."""
    if _checked(target) == "local":
        from rollout.emulator.host.access import read_management_token

        running = emulator_status(state_dir=state_dir, start=start)
        return LocalTokenCredential(read_management_token(Path(running.state_dir)))
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def registry_uri(
    target: str = "local",
    *,
    state_dir: Path | str | None = None,
    subscription: str | None = None,
    resource_group: str | None = None,
    workspace: str | None = None,
    **_: Any,
) -> str:
    """The MLflow tracking/registry URI the target serves models from."""
    if _checked(target) == "local":
        from rollout.emulator.host import process

        recorded = process.status(_state_dir(state_dir))
        return recorded.registry_uri if recorded is not None else paths.registry_uri()
    scope = azure_scope(subscription=subscription, resource_group=resource_group, workspace=workspace)
    client = ml_client(target, **scope)
    uri = client.workspaces.get(scope["workspace"]).mlflow_tracking_uri
    if not uri:
        raise UserError(f"workspace {scope['workspace']} reports no MLflow tracking URI")
    return uri


def ca_file(target: str = "local", *, state_dir: Path | str | None = None, **_: Any) -> str | None:
    """The CA file that HTTPS clients of the target must trust; None for Azure (the system's CAs)."""
    if _checked(target) == "azure":
        return None
    return emulator_status(state_dir=state_dir).ca_file


def emulator_url(*, state_dir: Path | str | None = None, **_: Any) -> str:
    """The base URL of the running local emulator (for its /metrics.json, /healthz...)."""
    return emulator_status(state_dir=state_dir).url


def emulator_status(
    *, state_dir: Path | str | None = None, start: bool = False, registry_uri: str | None = None
) -> EmulatorStatus:
    """The running emulator of the state directory; started first when `start` is set."""
    from rollout.emulator.host import process

    directory = _state_dir(state_dir)
    recorded = process.status(directory)
    if recorded is not None and recorded.running:
        return recorded
    if not start:
        raise UserError(
            f"the local emulator is not running (state dir {directory}); start it with `rollout emulator start`"
        )
    try:
        started, _ = process.start(directory, registry_uri)
    except process.EmulatorError as error:
        raise UserError(str(error)) from None
    return started


def azure_scope(
    *, subscription: str | None = None, resource_group: str | None = None, workspace: str | None = None
) -> dict[str, str]:
    """Subscription, resource group and workspace from the arguments or their environment variables."""
    given = {"subscription": subscription, "resource_group": resource_group, "workspace": workspace}
    scope = {key: value or os.environ.get(AZURE_ENV[key], "") for key, value in given.items()}
    missing = [AZURE_ENV[key] for key, value in scope.items() if not value]
    if missing:
        raise UserError(f"target azure needs {', '.join(missing)} (set the variables or pass the options)")
    return scope


def _state_dir(state_dir: Path | str | None) -> Path:
    return Path(state_dir).resolve() if state_dir else paths.emulator_dir()


def _checked(target: str) -> str:
    if target not in TARGETS:
        raise UserError(f"unknown target '{target}': choose local or azure")
    return target
