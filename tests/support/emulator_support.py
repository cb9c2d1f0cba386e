"""The emulator under test: a handle on a running one (its URL, CA, tokens, clients) and how to start one.

The emulator is the real server started in the background by `rollout.emulator.host.process` (the code
`rollout emulator start` runs), on a free port with a private state directory and registry.
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE
from rollout.emulator.host import process
from rollout.emulator.host.management_token import read_management_token

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

WORKSPACE_PATH = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
    f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)
ARM_API_VERSION = "2023-04-01-preview"
HEART_MODEL = "heart-classifier"
BROKEN_MODEL = "broken-model"
BROKEN_MLMODEL = """\
flavors:
  python_function:
    loader_module: rollout_test_missing_loader_module
    python_version: 3.11.7
mlflow_version: 3.17.2
"""


@dataclass(frozen=True)
class Registry:
    """A private MLflow registry (SQLite) and the directory its artifacts go to."""

    uri: str
    artifacts_dir: Path


@dataclass(frozen=True)
class RegisteredModels:
    """What the session registered: the demo heart classifier (two versions) and a model that cannot load."""

    heart: str = HEART_MODEL
    heart_versions: tuple[int, ...] = (1, 2)
    broken: str = BROKEN_MODEL
    broken_version: int = 1


class EmulatorHandle:
    """A running emulator and ways to talk to it."""

    def __init__(self, status: process.EmulatorStatus) -> None:
        self.status = status
        self.url = status.url
        self.port = status.port
        self.pid = status.pid
        self.ca_file = status.ca_file
        self.state_dir = Path(status.state_dir)
        self.registry_uri = status.registry_uri

    workspace_path = WORKSPACE_PATH

    def scoring_uri(self, endpoint: str) -> str:
        return f"{self.url}/online-endpoints/{endpoint}/score"

    def endpoint_path(self, endpoint: str) -> str:
        """The ARM path of an online endpoint."""
        return f"{WORKSPACE_PATH}/onlineEndpoints/{endpoint}"

    def deployment_path(self, endpoint: str, deployment: str) -> str:
        """The ARM path of a deployment."""
        return f"{WORKSPACE_PATH}/onlineEndpoints/{endpoint}/deployments/{deployment}"

    @cached_property
    def management_token(self) -> str:
        return read_management_token(self.state_dir)

    def ml_client(self) -> MLClient:
        """A real azure-ai-ml MLClient pointed at this emulator (built by the local target)."""
        from rollout.azureml.local_target import LocalTarget

        return LocalTarget(self.state_dir).ml_client()

    def ml_client_as(self, token: str) -> MLClient:
        """The same MLClient, signed in with another bearer token (an identity's, say)."""
        from rollout.azureml.local_target import LocalTarget, LocalTokenCredential

        class SignedInAs(LocalTarget):
            @staticmethod
            def _credential(running: process.EmulatorStatus) -> LocalTokenCredential:
                return LocalTokenCredential(token)

        return SignedInAs(self.state_dir).ml_client()

    def tls_context(self) -> ssl.SSLContext:
        """A TLS context that trusts the emulator's CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    def https(self) -> httpx.Client:
        """A plain HTTPS client trusting the emulator's CA (no credentials)."""
        return httpx.Client(base_url=self.url, verify=self.tls_context(), timeout=30.0)

    def arm(self) -> httpx.Client:
        """A plain HTTPS client for the ARM routes, with the management token."""
        return httpx.Client(
            base_url=self.url,
            verify=self.tls_context(),
            timeout=30.0,
            headers={"Authorization": f"Bearer {self.management_token}"},
            params={"api-version": ARM_API_VERSION},
        )


def fresh_name(prefix: str) -> str:
    """A fresh endpoint name (the session's emulator is shared by many tests)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def start_emulator(state_dir: Path, registry_uri: str, **options: object) -> EmulatorHandle:
    status, started = process.start(state_dir, registry_uri, **options)  # type: ignore[arg-type]
    assert started, f"an emulator already ran in {state_dir}"
    return EmulatorHandle(status)
