"""The acceptance suite's pytest plugin: its options, and what it runs against (a project, a
candidate deployment and the live one beside it, the output contract replies must keep).

Loaded by name: `pytest -p rollout.acceptance.plugin --pyargs rollout.acceptance`, which is what
`rollout acceptance` runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rollout.acceptance.request_schema import RequestSchema, request_schema
from rollout.azureml.connection import Connection
from rollout.azureml.scoring import ScoringClient
from rollout.azureml.targets import TARGET_NAMES, parse_target
from rollout.project.layout import PROBE_FILE, SAMPLES_DIR, SCHEMA_FILE, sample_files
from rollout.project.loading import load_project
from rollout.project.output_contract import EXACT, OutputContract, contract_from_signature
from rollout.project.schema import load_model_metadata
from rollout.project.specs import ReleasePlan
from rollout.release.steps import Release

if TYPE_CHECKING:
    from mlflow.models import Model


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("acceptance", "the rollout acceptance suite")
    group.addoption(
        "--project",
        default=".",
        help="The project's root (holds deployments/release.yml and samples/; "
        "default: the working directory).",
    )
    group.addoption(
        "--target",
        default=os.environ.get("ROLLOUT_TARGET") or "local",
        choices=TARGET_NAMES,
        help="Where the endpoint is (default: $ROLLOUT_TARGET, else local).",
    )
    group.addoption("--endpoint", default=None, help="Endpoint to test (default: the project's).")
    group.addoption(
        "--deployment", default=None, help="Candidate deployment (default: the endpoint's candidate)."
    )
    group.addoption("--live", default=None, help="Live deployment (default: the endpoint's live one).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "acceptance: the pre-promotion acceptance suite, against a live candidate"
    )
    # the deprecations azure-ai-ml's schemas raise in the marshmallow a team's environment holds
    # (hundreds a run) say nothing about the candidate
    for module in ("marshmallow", "azure"):
        config.addinivalue_line("filterwarnings", f"ignore::DeprecationWarning:{module}")


def _project_root(config: pytest.Config) -> Path:
    return Path(config.getoption("--project")).resolve()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sample_file" in metafunc.fixturenames:
        files = sample_files(_project_root(metafunc.config))
        metafunc.parametrize("sample_file", files, ids=[path.name for path in files])


@dataclass
class ReleaseUnderTest:
    endpoint: str
    candidate: str
    live: str | None
    candidate_model: str  # name:version
    plan: ReleasePlan
    registry_uri: str
    client: ScoringClient
    code_deployment: bool = False  # the candidate runs a scoring script (code_configuration)


@pytest.fixture(scope="session")
def project_root(request: pytest.FixtureRequest) -> Path:
    return _project_root(request.config)


@pytest.fixture(scope="session")
def release_under_test(request: pytest.FixtureRequest, project_root: Path) -> Iterator[ReleaseUnderTest]:
    options = request.config
    conn = Connection(parse_target(options.getoption("--target")))
    rel = Release(conn, load_project(project_root))
    rel.endpoint_name = options.getoption("--endpoint") or rel.endpoint_name
    status = rel.status()
    endpoint = rel.endpoint_name
    candidate = options.getoption("--deployment") or status.candidate
    if not candidate:
        pytest.exit(f"endpoint {endpoint} has no candidate deployment: pass --deployment", returncode=4)
    model = next((d.model for d in status.deployments if d.name == candidate), None)
    if model is None:
        pytest.exit(f"endpoint {endpoint} has no deployment {candidate}", returncode=4)
    under_test = ReleaseUnderTest(
        endpoint=endpoint,
        candidate=candidate,
        live=options.getoption("--live") or status.live,
        candidate_model=model,
        plan=rel.project.plan,
        registry_uri=conn.target.mlflow_uri(),
        client=conn.scoring(endpoint),
        code_deployment=conn.ml.online_deployments.get(candidate, endpoint).code_configuration is not None,
    )
    yield under_test
    under_test.client.close()


@pytest.fixture(scope="session")
def candidate_mlmodel(release_under_test: ReleaseUnderTest) -> Model:
    name, version = release_under_test.candidate_model.split(":")
    return load_model_metadata(f"models:/{name}/{version}", release_under_test.registry_uri)


@pytest.fixture(scope="session")
def output_contract(release_under_test: ReleaseUnderTest, candidate_mlmodel: Model) -> OutputContract:
    """The plan's contract; without one, the candidate's output signature's; else labels by equality."""
    return release_under_test.plan.output or contract_from_signature(candidate_mlmodel) or EXACT


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def schema(project_root: Path) -> dict:
    return _json(project_root / SCHEMA_FILE)


_SCHEMA_USED = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def samples_schema(
    request: pytest.FixtureRequest, release_under_test: ReleaseUnderTest, project_root: Path, schema: dict
) -> RequestSchema:
    """What the samples must fit: the candidate's scoring script's declared request schema, else
    the project's sample schema; the suite's summary says which."""
    found = request_schema(
        release_under_test.client,
        release_under_test.candidate,
        release_under_test.code_deployment,
        RequestSchema(schema, str(SCHEMA_FILE)),
    )
    request.config.stash[_SCHEMA_USED] = found.source
    return found


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    used = config.stash.get(_SCHEMA_USED, None)
    if used is not None:
        terminalreporter.write_line(f"samples checked against the request schema of {used}")


@pytest.fixture(scope="session")
def sample_request(project_root: Path) -> dict:
    files = sample_files(project_root)
    if not files:
        pytest.exit(f"{project_root}: no sample requests in samples/", returncode=4)
    preferred = [path for path in files if path.name != PROBE_FILE] or files
    return _json(preferred[0])


@pytest.fixture(scope="session")
def probe_request(project_root: Path) -> dict | None:
    path = project_root / SAMPLES_DIR / PROBE_FILE
    return _json(path) if path.is_file() else None
