"""`rollout init` tests' fixtures: one lab (a registry, an emulator) per test session, per xdist
worker; each test module registers its model kind there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from init_lab import InitLab


@pytest.fixture(scope="session")
def init_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InitLab]:
    from rollout import registry
    from rollout.emulator.host import process

    home = tmp_path_factory.mktemp("init-lab")
    lab = InitLab(home, f"sqlite:///{home / 'mlflow.db'}")
    # create the registry's tables before the emulator opens it: two processes must not both migrate
    registry.client(lab.registry_uri).search_registered_models()
    lab.connection().ml.online_endpoints.list()  # starts the emulator and checks it answers
    yield lab
    process.stop(lab.state_dir)
