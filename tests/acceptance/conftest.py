"""What the acceptance suite runs against: a candidate deployment and the live one beside it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollout.azureml.connection import Connection
from rollout.azureml.local_target import LocalTarget
from rollout.azureml.scoring import ScoringClient
from rollout.azureml.targets import parse_target
from rollout.project.loading import load_project
from rollout.project.specs import ReleasePlan
from rollout.release.steps import Release

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


@dataclass
class ReleaseUnderTest:
    endpoint: str
    candidate: str
    live: str | None
    candidate_model: str  # name:version
    plan: ReleasePlan
    registry_uri: str
    client: ScoringClient


def _under_test(conn: Connection, options: pytest.Config, registry_uri: str) -> ReleaseUnderTest:
    rel = Release(conn, load_project(REPO))
    rel.endpoint_name = options.getoption("--endpoint") or rel.endpoint_name
    status = rel.status()
    endpoint = rel.endpoint_name
    candidate = options.getoption("--deployment") or status.candidate
    if not candidate:
        pytest.exit(f"endpoint {endpoint} has no candidate deployment: pass --deployment", returncode=4)
    live = options.getoption("--live") or status.live
    model = next((d.model for d in status.deployments if d.name == candidate), None)
    if model is None:
        pytest.exit(f"endpoint {endpoint} has no deployment {candidate}", returncode=4)
    return ReleaseUnderTest(
        endpoint=endpoint,
        candidate=candidate,
        live=live,
        candidate_model=model,
        plan=rel.project.plan,
        registry_uri=registry_uri or conn.target.mlflow_uri(),
        client=conn.scoring(endpoint),
    )


@pytest.fixture(scope="session")
def release_under_test(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    config = request.config
    target = parse_target(config.getoption("--target"))
    if not isinstance(target, LocalTarget) and not config.getoption("--endpoint"):
        pytest.exit(
            f"--target {target.name} needs --endpoint: the suite provisions a release of its own only locally",
            4,
        )
    if config.getoption("--endpoint"):
        under_test = _under_test(Connection(target), config, "")
        yield under_test
        under_test.client.close()
        return
    yield from _local_release(config, tmp_path_factory.mktemp("acceptance"))


def _local_release(config: pytest.Config, home: Path) -> Iterator[ReleaseUnderTest]:
    """Blue serves version 1 with all traffic; green is the candidate with version 2 at 0%."""
    from rollout.azureml.endpoints import set_traffic
    from rollout.demo_model.training import train_and_register
    from rollout.emulator.host import process

    registry_uri = f"sqlite:///{home / 'mlflow.db'}"
    for variant in (1, 2):
        train_and_register(
            "heart-classifier",
            variant=variant,
            seed=0,
            tracking_uri=registry_uri,
            artifacts_dir=home / "artifacts",
        )
    state_dir = home / "emulator"
    conn = Connection(LocalTarget(state_dir, start=True, registry_uri=registry_uri))
    try:
        rel = Release(conn, load_project(REPO))
        rel.deploy(version=1)
        set_traffic(conn.ml, rel.endpoint_name, {"blue": 100})
        rel.retire()
        rel.deploy(version=2)
        under_test = _under_test(conn, config, registry_uri)
        yield under_test
        under_test.client.close()
    finally:
        process.stop(state_dir)


@pytest.fixture(scope="session")
def schema() -> dict:
    return json.loads((SAMPLES / "sample.schema.json").read_text())


@pytest.fixture(scope="session")
def sample_request() -> dict:
    return json.loads((SAMPLES / "sample.json").read_text())


@pytest.fixture(scope="session")
def probe_request() -> dict:
    return json.loads((SAMPLES / "probe.json").read_text())
