"""A release of deployments with a scoring script (`code_configuration` + an inline `environment`):
the same plan walks blue -> green, and a script that fails in `run()` is stopped before traffic moves."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from labs import Lab
from release_lab import PROBE_RPS, VERSIONS, user_traffic
from rollout.acceptance.request_schema import RequestSchema, request_schema
from rollout.azureml.endpoints import set_traffic
from rollout.core.errors import UserError
from rollout.project.loading import load_project
from rollout.release import history
from rollout.release.steps import Release
from scoring_code import PACKAGES, conda_file, write_heart_code

IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest"


def _scripted(project: Path, slot: str, folder: str) -> None:
    """Give `slot`'s spec the scoring script in `folder` and the shared conda file."""
    path = project / "deployments" / f"{slot}.yml"
    spec = yaml.safe_load(path.read_text())
    spec["code_configuration"] = {"code": f"../{folder}", "scoring_script": "score.py"}
    spec["environment"] = {"conda_file": "../environment/conda.yaml", "image": IMAGE}
    path.write_text(yaml.safe_dump(spec))


def test_scoring_script_deployments_are_released_blue_to_green_and_a_failing_one_is_stopped(
    lab: Lab, project: Path
) -> None:
    (project / "environment").mkdir()
    (project / "environment" / "conda.yaml").write_text(conda_file())
    write_heart_code(project / "scoring")
    write_heart_code(project / "scoring-typed", typed=True)
    _scripted(project, "blue", "scoring")
    _scripted(project, "green", "scoring-typed")
    rel = Release(lab.connection(), load_project(project))
    rel.deploy(version=VERSIONS["v1"])
    set_traffic(rel.conn.ml, rel.endpoint_name, {"blue": 100})
    rel.retire()

    assert rel.deploy(version=VERSIONS["v2"]).candidate == "green"
    deployment = rel.conn.ml.online_deployments.get("green", rel.endpoint_name)
    assert deployment.code_configuration.scoring_script == "score.py"
    assert "/environments/CliV2AnonymousEnvironment/versions/" in deployment.environment
    # the deploy recorded the environment's packages, read from the deployment's log through the SDK
    assert set(PACKAGES) <= set(history.read(rel.endpoint_name)[-1].packages or [])
    packages = rel.status().packages  # blue and green run the same environment: nothing changes
    assert packages is not None and (packages.changes, packages.unknown, packages.live) == ([], None, "blue")
    _samples_are_checked_against_the_scripts_declared_input(lab, rel, project)
    result = rel.promote("canary", probe_rps=PROBE_RPS)
    assert result.verdict.outcome == "pass", result.verdict
    rel.rollback()
    assert rel.status().traffic == {"blue": 100}

    # Version 3 with a script that fails in run(): its smoke check stops it, traffic stays on blue.
    write_heart_code(project / "scoring-v3", fails_in_run=True)
    _scripted(project, "green", "scoring-v3")
    rel = Release(lab.connection(), load_project(project))
    rel.deploy(version=VERSIONS["v3"])
    with user_traffic(rel) as replies:
        with pytest.raises(UserError, match="no traffic was moved"):
            rel.promote("canary", probe_rps=PROBE_RPS)
        rel.rollback(force_lock=True)
    assert rel.status().traffic == {"blue": 100}
    assert replies and {status for status, _ in replies} == {200}
    logs = rel.conn.ml.online_deployments.get_logs("green", rel.endpoint_name, lines=100)
    assert "RuntimeError: run() failed on purpose" in logs


def _samples_are_checked_against_the_scripts_declared_input(lab: Lab, rel: Release, project: Path) -> None:
    """green's script declares its input (inference-schema): the acceptance suite checks the samples
    against its swagger's ServiceInput; blue's declares none: the sample schema stands."""
    with rel.conn.scoring(rel.endpoint_name) as client:
        declared = request_schema(client, "green", True, RequestSchema({}, "samples"))
        undeclared = request_schema(client, "blue", True, RequestSchema({}, "samples"))
    assert declared.source == "green's swagger (ServiceInput, its scoring script's types)"
    assert undeclared.source == "samples (blue: its scoring script declares no input types)"
    validator = jsonschema.Draft202012Validator(declared.schema)
    assert validator.is_valid({"input_data": {"columns": ["age", "chol"], "data": [[61, 290.5]]}})
    sample = json.loads((project / "samples" / "sample.json").read_text())  # 13 columns, thal in words
    assert [error.message for error in validator.iter_errors(sample)] == ["'normal' is not of type 'number'"]
    suite = lab.rollout("acceptance", "--path", str(project), "-k", "samples_validate", cwd=project)
    assert suite.returncode == 1, suite.stdout[-2000:]
    assert "probe.json against the request schema of green's swagger" in suite.stdout, suite.stdout[-3000:]
    assert "samples checked against the request schema of green's swagger" in suite.stdout
