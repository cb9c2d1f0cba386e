"""The local target: the emulator, reached by the same `MLClient` as Azure.

The client is built with a custom cloud whose resource-manager URL is the emulator, a static token
credential (the emulator's management token) and the emulator's CA trusted for that client
(azure-core's `connection_verify`). One exception: azure-ai-ml uploads a deployment's code folder
with blob clients of its own, which take no connection options and verify TLS with requests' bundle.
For those, `REQUESTS_CA_BUNDLE` is pointed at a copy of the bundle in force (the variable's, else
certifi's) with the emulator's CA added, a temporary file of the process: every other host is
verified exactly as before.
This module and `rollout.cli.emulator` are the only client-side code that imports the emulator.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout import LOCAL_CLOUD_PREFIX
from rollout.azureml import write_fence
from rollout.azureml.recording import recorder
from rollout.core import paths
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import AccessToken

    from rollout.azureml.metrics_sources import MetricsSource
    from rollout.emulator.host.process import EmulatorStatus

TOKEN_LIFETIME_SECONDS = 3600
_UPLOAD_BUNDLES: list[Path] = []  # the bundles `trust_for_uploads` wrote, removed at exit


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
        **kwargs: Any,  # azure-core's TokenCredential protocol passes further options by keyword
    ) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + TOKEN_LIFETIME_SECONDS)


@dataclass(frozen=True)
class LocalTarget:
    """The emulator of a state directory (default `.rollout/emulator`); started on first use when
    `start` is set, serving models from `registry_uri` (default: the local registry)."""

    state_dir: Path | None = None
    start: bool = False
    registry_uri: str | None = None

    @property
    def name(self) -> str:
        return "local"

    @property
    def directory(self) -> Path:
        return Path(self.state_dir).resolve() if self.state_dir else paths.emulator_dir()

    def ml_client(self) -> MLClient:
        from azure.ai.ml import MLClient

        from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE

        running = self.emulator(start=self.start)
        trust_for_uploads(running.ca_file)
        url = running.url.rstrip("/") + "/"
        return MLClient(
            self._credential(running),
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
            enable_telemetry=False,
            show_progress=False,
            raw_request_hook=write_fence.request_hook,
            **recorder.azure_options(),
        )

    def credential(self) -> LocalTokenCredential:
        return self._credential(self.emulator(start=self.start))

    def token_scope(self) -> str:
        return self.emulator(start=self.start).url.rstrip("/") + "/.default"

    def location(self) -> str:
        return f"the local emulator at {self.emulator(start=self.start).url} (state dir {self.directory})"

    def mlflow_uri(self) -> str:
        from rollout.emulator.host import process

        recorded = process.status(self.directory)
        return recorded.registry_uri if recorded is not None else paths.registry_uri()

    def ca_file(self) -> str | None:
        return self.emulator().ca_file

    def url(self) -> str:
        """The base URL of the running emulator (for its /metrics.json, /healthz...)."""
        return self.emulator().url

    @staticmethod
    def workspace_path() -> str:
        """The ARM path of the emulator's one workspace."""
        from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE

        return (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
        )

    def metrics_source(self, ml: MLClient, endpoint: str) -> MetricsSource:
        from rollout.azureml.metrics_sources import EmulatorMetrics

        return EmulatorMetrics(self.url(), self.ca_file() or True)

    def blob_account_url(self, account: str, suffix: str) -> str:
        """Path-style on the emulator's host, as the blob URLs it hands out are."""
        return f"{self.emulator(start=self.start).url.rstrip('/')}/{account}.blob.{suffix}"

    def child_environment(self) -> dict[str, str]:
        return {}

    def identity_token(self, client_id: str, roles: list[tuple[Path, str | None]]) -> str:
        """Give a client id exactly these roles on the emulator (role definition files, each at a
        scope, None: the emulator's resource group) and return a token for it."""
        from rollout.emulator.host.identity_grant import RoleGrant, grant

        return grant(self.directory, client_id, [RoleGrant(path, scope) for path, scope in roles])

    def existing_identity_token(self, client_id: str) -> str:
        """A token for a client id with the roles it has on the emulator now (reads only)."""
        from rollout.emulator.host.identity_grant import token_for

        return token_for(self.directory, client_id)

    def container_scope(self, container: str) -> str:
        """The ARM scope of a container of the emulator's storage account."""
        from rollout.emulator.control.arm_actions import container_scope

        return container_scope(container)

    def emulator(self, start: bool = False) -> EmulatorStatus:
        """The running emulator of the state directory; started first when `start` is set."""
        from rollout.emulator.host import process

        recorded = process.status(self.directory)
        if recorded is not None and recorded.running:
            return recorded
        if not start:
            raise UserError(
                f"the local emulator is not running (state dir {self.directory}); "
                "start it with `rollout emulator start`"
            )
        try:  # its notes (a port taken, the deployments it restores) go to stderr
            started, _ = process.start(self.directory, self.registry_uri, notify=_note)
        except process.EmulatorError as error:
            raise UserError(str(error)) from None
        return started

    def stop(self) -> None:
        """Stop the emulator of the state directory, if it runs."""
        from rollout.emulator.host import process

        process.stop(self.directory)

    @staticmethod
    def _credential(running: EmulatorStatus) -> LocalTokenCredential:
        from rollout.emulator.host.management_token import read_management_token

        return LocalTokenCredential(read_management_token(Path(running.state_dir)))


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def trust_for_uploads(ca_file: str) -> None:
    """Add the emulator's CA to the bundle requests verifies with (azure-ai-ml's blob uploads use it),
    keeping every certificate already trusted; nothing changes when the bundle has it already. The
    new bundle is a private temporary file, removed when the process exits."""
    import certifi

    current = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    ca = Path(ca_file).read_text().strip()
    base = Path(current) if Path(current).is_file() else Path(certifi.where())
    trusted = base.read_text()
    if ca in trusted:
        return
    fd, name = tempfile.mkstemp(prefix="rollout-ca-bundle-", suffix=".pem")
    with os.fdopen(fd, "w") as handle:
        handle.write(trusted.rstrip() + "\n" + ca + "\n")
    if not _UPLOAD_BUNDLES:
        atexit.register(_remove_upload_bundles)
    _UPLOAD_BUNDLES.append(Path(name))
    os.environ["REQUESTS_CA_BUNDLE"] = name


def _remove_upload_bundles() -> None:
    for bundle in _UPLOAD_BUNDLES:
        bundle.unlink(missing_ok=True)
