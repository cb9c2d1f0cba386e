"""Release tests' fixtures: one lab (emulator and registry) per test session, per xdist worker.

The lab's emulator runs the azure timing profile (Azure's durations for endpoint and deployment
changes, scaled by RELEASE_TIME_SCALE): every endpoint update reads Updating with the old split until
its operation completes, so the toolkit's waits and confirmations run as they will on Azure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_lab import MODEL, VERSIONS, Lab, make_project, register_faulty

from rollout.emulator.control.timing import Timing
from rollout.project.loading import load_project
from rollout.release.steps import Release

# About 3 s of Azure time per release step at most (a deployment: 480 s x 0.003 = 1.4 s, a traffic
# change 0.12 s): the whole release suite spends well under a minute more than with instant timing.
RELEASE_TIME_SCALE = 0.003


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from rollout.demo_model.training import train_and_register
    from rollout.emulator.host import process

    home = tmp_path_factory.mktemp("release-lab")
    registry_uri = f"sqlite:///{home / 'mlflow.db'}"
    artifacts = home / "artifacts"
    for variant, seed in ((1, 0), (2, 0), (1, 1)):
        train_and_register(
            MODEL, variant=variant, seed=seed, tracking_uri=registry_uri, artifacts_dir=artifacts
        )
    for mode in ("broken", "flaky", "slow"):
        register_faulty(registry_uri, artifacts, mode)
    lab = Lab(home, registry_uri)
    process.start(lab.state_dir, registry_uri, timing=Timing("azure", RELEASE_TIME_SCALE))
    lab.connection().ml.online_endpoints.list()  # starts the emulator and checks it answers
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROLLOUT_HOME", str(home))  # steps run here keep their history where `rollout` does
        yield lab
    process.stop(lab.state_dir)


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A project with an endpoint named after the test (names: 3-32 chars, letters, digits, dashes)."""
    readable = "".join(c if c.isalnum() else "-" for c in request.node.originalname.lower())[:20].strip("-")
    name = f"ep-{readable}-{hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:6]}"
    return make_project(tmp_path / "project", name)


@pytest.fixture
def live_on_v1(lab: Lab, project: Path) -> Release:
    """The project's endpoint with blue serving version 1 and all traffic, no release in progress."""
    from rollout.azureml.endpoints import set_traffic

    rel = Release(lab.connection(), load_project(project))
    rel.deploy(version=VERSIONS["v1"])
    set_traffic(rel.conn.ml, rel.endpoint_name, {"blue": 100})
    rel.retire()
    return rel
