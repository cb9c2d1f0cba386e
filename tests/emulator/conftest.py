"""Fixtures for the emulator tests: one real emulator per session (per xdist worker) and the models
registered into its MLflow registry.

The emulator is the real server started in the background by `rollout.emulator.host.process` (the code
`rollout emulator start` runs), on a free port with a private state directory and registry. Tests
drive it through the real azure-ai-ml `MLClient` (`emulator.ml_client()`) and plain HTTPS.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE
from rollout.emulator.host import process
from rollout.emulator.host.access import read_management_token

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


@pytest.fixture(scope="session")
def emulator_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A fresh registry, its schema created here (not concurrently by the emulator and the trainer)."""
    from rollout import registry

    root = tmp_path_factory.mktemp("registry")
    created = Registry(uri=f"sqlite:///{root / 'mlflow.db'}", artifacts_dir=root / "artifacts")
    registry.quiet_logs()
    registry.client(created.uri).search_registered_models()
    return created


@pytest.fixture(scope="session")
def emulator(
    tmp_path_factory: pytest.TempPathFactory, emulator_registry: Registry
) -> Iterator[EmulatorHandle]:
    """The session's emulator (stopped, with all its instances, at the end)."""
    state_dir = tmp_path_factory.mktemp("emulator-state")
    handle = start_emulator(state_dir, emulator_registry.uri)
    try:
        yield handle
    finally:
        process.stop(state_dir)


@pytest.fixture(scope="session")
def registered_models(
    emulator_registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> RegisteredModels:
    """Train and register heart-classifier versions 1 and 2, and a broken model, into the registry."""
    from rollout import registry
    from rollout.demo_model.training import train_and_register

    registry.quiet_logs()
    models = RegisteredModels()
    for variant, version in enumerate(models.heart_versions, start=1):
        registered = train_and_register(
            models.heart,
            variant=variant,
            seed=0,
            tracking_uri=emulator_registry.uri,
            artifacts_dir=emulator_registry.artifacts_dir,
        )
        assert registered.version == version
    broken_dir = tmp_path_factory.mktemp("broken-model")
    (broken_dir / "MLmodel").write_text(BROKEN_MLMODEL)
    client = registry.client(emulator_registry.uri)
    version = registry.register_model(
        client, models.broken, broken_dir, artifacts_dir=emulator_registry.artifacts_dir
    )
    assert version == models.broken_version
    return models


@pytest.fixture(scope="session")
def unique_name() -> Callable[[str], str]:
    """`unique_name("prefix")` gives an endpoint name no other test uses."""
    return fresh_name


@pytest.fixture(scope="session")
def ml_client(emulator: EmulatorHandle) -> MLClient:
    return emulator.ml_client()


@pytest.fixture(scope="session")
def sample_request() -> dict:
    """samples/sample.json: the request of the Azure article, one heart-disease patient."""
    import json

    return json.loads((Path(__file__).resolve().parents[2] / "samples" / "sample.json").read_text())
