"""Fixtures for the emulator tests: the release lab's emulator (one per xdist worker, started by
`rollout.emulator.host.process`, the code `rollout emulator start` runs) and the models in its
registry. Tests drive it through the real azure-ai-ml `MLClient` (`emulator.ml_client()`) and
plain HTTPS, each on endpoints of its own; a test that needs other settings starts an emulator of
its own (`start_emulator`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from emulator_support import (
    BROKEN_MLMODEL,
    EmulatorHandle,
    RegisteredModels,
    Registry,
    fresh_name,
)
from labs import Lab
from model_cache import ModelCache
from release_lab import MODEL, VERSIONS
from rollout.emulator.host import process

if TYPE_CHECKING:
    from azure.ai.ml import MLClient


@pytest.fixture(scope="session")
def emulator_registry(lab: Lab) -> Registry:
    """The release lab's registry (tests/conftest.py); emulators of a test's own may serve it too."""
    return Registry(uri=lab.registry_uri, artifacts_dir=lab.artifacts_dir)


@pytest.fixture(scope="session")
def emulator(lab: Lab) -> EmulatorHandle:
    """The release lab's emulator (shared with the release tests, each test on endpoints of its own)."""
    running = process.status(lab.state_dir)
    assert running is not None and running.running, "the release lab's emulator is not running"
    return EmulatorHandle(running)


@pytest.fixture(scope="session")
def registered_models(
    lab: Lab, emulator_registry: Registry, model_cache: ModelCache, tmp_path_factory: pytest.TempPathFactory
) -> RegisteredModels:
    """heart-classifier versions 1 and 2 (the lab's first two, the demo model's variants), and a
    model that cannot load, registered here."""
    models = RegisteredModels()
    assert models.heart == MODEL and [VERSIONS["v1"], VERSIONS["v2"]] == list(models.heart_versions)
    broken_dir = tmp_path_factory.mktemp("broken-model")
    (broken_dir / "MLmodel").write_text(BROKEN_MLMODEL)
    (broken_dir / "requirements.txt").write_text("mlflow\n")  # the chaos model's environment
    version = model_cache.register(
        emulator_registry.uri, emulator_registry.artifacts_dir, models.broken, broken_dir
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


@pytest.fixture
def endpoint(
    ml_client: MLClient, unique_name: Callable[[str], str], request: pytest.FixtureRequest
) -> Iterator[str]:
    """A managed endpoint of the test's own, named after its module (`test_control_limits` gives
    `limits-<hex>`) and deleted with its deployments after the test; a module may define its own."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    name = unique_name(request.module.__name__.rsplit("_", 1)[-1])
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    yield name
    ml_client.online_endpoints.begin_delete(name).result()


@pytest.fixture(scope="session")
def sample_request() -> dict:
    """samples/sample.json: the request of the Azure article, one heart-disease patient."""
    import json

    return json.loads((Path(__file__).resolve().parents[2] / "samples" / "sample.json").read_text())
