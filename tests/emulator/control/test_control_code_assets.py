"""Deployments with a scoring script through the real azure-ai-ml MLClient: `code_configuration` with a
local folder and an inline `environment` (conda file and image). azure-ai-ml uploads the folder as a code
asset (hash lookup, startPendingUpload, blob uploads, code version PUT) and registers the environment as
an anonymous environment version before it PUTs the deployment; the emulator keeps both, reads them back
in Azure's shape, and runs the deployment as Azure does: Azure's server on the user's `score.py`, its
folder the app root, in the environment built from the conda file's pip list (nothing added)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from arm_schemas import CODE_VERSION, DEPLOYMENT, ENVIRONMENT_VERSION, paginated
from scoring_code import ANSWER, REQUEST, conda_file, pickled_model, write_code

IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"
CONDA = conda_file()


def conforms(body: object, schema: dict) -> None:
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def scripted_model(emulator_registry, model_cache, tmp_path_factory) -> str:
    """A pickled scikit-learn model registered (version 1) under a name of this module's own."""
    name = f"scripted-{uuid.uuid4().hex[:8]}"
    files = pickled_model(tmp_path_factory.mktemp("scripted-model") / "model")
    assert model_cache.register(emulator_registry.uri, emulator_registry.artifacts_dir, name, files) == 1
    return f"azureml:{name}:1"


@pytest.fixture
def project(tmp_path) -> Path:
    """A scoring script folder (unique content: the session's emulator is shared) and a conda file."""
    write_code(tmp_path / "src")
    (tmp_path / "conda.yaml").write_text(CONDA)
    return tmp_path


def _deployment(endpoint: str, name: str, project: Path, **overrides: object) -> ManagedOnlineDeployment:
    settings: dict[str, object] = {
        "code_configuration": CodeConfiguration(code=str(project / "src"), scoring_script="score.py"),
        "environment": Environment(conda_file=str(project / "conda.yaml"), image=IMAGE),
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        **overrides,
    }
    return ManagedOnlineDeployment(name=name, endpoint_name=endpoint, **settings)


def _name_and_version(asset_id: str) -> tuple[str, str]:
    parts = asset_id.rstrip("/").split("/")
    return parts[-3], parts[-1]


def test_a_scoring_script_deployment_registers_its_code_and_environment_and_answers(
    ml_client, emulator, scripted_model, endpoint, project, tmp_path
):
    ml_client.online_deployments.begin_create_or_update(
        _deployment(endpoint, "blue", project, model=scripted_model)
    ).result()

    got = ml_client.online_deployments.get("blue", endpoint)
    assert got.provisioning_state == "Succeeded"
    assert got.code_configuration.scoring_script == "score.py"
    assert got.model.endswith(f"/models/{scripted_model.split(':')[1]}/versions/1")
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST))
    answer = ml_client.online_endpoints.invoke(endpoint, request_file=str(request), deployment_name="blue")
    assert json.loads(answer) == ANSWER  # the pickle loaded in init() from $AZUREML_MODEL_DIR

    code_name, code_version = _name_and_version(got.code_configuration.code)
    environment_name, environment_version = _name_and_version(got.environment)
    assert environment_name == "CliV2AnonymousEnvironment"

    code = ml_client._code.get(code_name, code_version)
    assert code._is_anonymous and code.properties["hash_version"] == "202208"
    container, _, folder = code.path.split(".blob.core.windows.net/", 1)[1].partition("/")
    uploaded = emulator.state_dir / "blobs" / "rolloutemulator" / container / folder
    for relative in ("score.py", "helpers/features.py"):
        assert (uploaded / relative).read_bytes() == (project / "src" / relative).read_bytes()
    assert not (uploaded / "__pycache__").exists()  # the instances run a copy

    environment = ml_client.environments.get(environment_name, environment_version)
    assert environment.image == IMAGE
    assert environment.conda_file == yaml.safe_load(CONDA)
    assert environment.id.endswith(f"/environments/{environment_name}/versions/{environment_version}")

    logs = ml_client.online_deployments.get_logs(
        "blue", endpoint, lines=200, container_type="storage-initializer"
    )
    assert f"Scoring script score.py of code azureml:{code_name}:{code_version}" in logs
    assert f"image {IMAGE}: its OS packages and Python are not emulated" in logs  # one warning
    assert "azureml-inference-server-http==" in logs  # the resolved set

    with emulator.arm() as arm:
        params = {"api-version": "2023-04-01"}
        conforms(arm.get(got.code_configuration.code, params=params).json(), CODE_VERSION)
        conforms(arm.get(got.environment, params=params).json(), ENVIRONMENT_VERSION)
        deployment = arm.get(emulator.deployment_path(endpoint, "blue")).json()
        conforms(deployment, DEPLOYMENT)
        assert deployment["properties"]["codeConfiguration"] == {
            "codeId": got.code_configuration.code,
            "scoringScript": "score.py",
        }
        listed = arm.get(
            f"{emulator.workspace_path}/environments/{environment_name}/versions", params=params
        ).json()
        conforms(listed, paginated(ENVIRONMENT_VERSION))
        assert environment_version in [e["name"] for e in listed["value"]]

    # A script whose init() raises: the deployment fails, the traceback's tail in its logs; the
    # environment is the same anonymous version (same conda file and image).
    write_code(project / "src", fails_in="init")
    with pytest.raises(HttpResponseError, match=r"init\(\) failed on purpose"):
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "green", project, model=scripted_model)
        ).result()
    failed = ml_client.online_deployments.get("green", endpoint)
    assert failed.provisioning_state == "Failed" and failed.environment == got.environment
    assert failed.code_configuration.code != got.code_configuration.code
    logs = ml_client.online_deployments.get_logs("green", endpoint, lines=60)
    assert "Traceback" in logs and "RuntimeError: init() failed on purpose" in logs


def test_a_deployment_naming_missing_code_or_environment_versions_is_refused(
    ml_client, emulator, registered_models, endpoint, project
):
    model = f"azureml:{registered_models.heart}:1"
    missing_code = f"{emulator.workspace_path}/codes/{uuid.uuid4()}/versions/1"
    missing_environment = f"{emulator.workspace_path}/environments/nothing/versions/1"
    cases = [
        (CodeConfiguration(code=missing_code, scoring_script="score.py"), "codeConfiguration.codeId"),
        (None, "The environment version nothing:1 that environmentId"),  # the folder is uploaded
    ]
    for code, message in cases:
        overrides: dict[str, object] = {"model": model, "environment": missing_environment}
        if code is not None:
            overrides["code_configuration"] = code
        with pytest.raises(ResourceNotFoundError) as raised:
            ml_client.online_deployments.begin_create_or_update(
                _deployment(endpoint, "ghost", project, **overrides)
            ).result()
        assert (raised.value.status_code, raised.value.error.code) == (404, "ResourceNotFound")
        assert message in raised.value.error.message
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_deployments.get("ghost", endpoint)


def test_an_environment_without_azures_inference_server_fails_the_deployment_with_its_cause(
    lab, ml_client, endpoint, project
):
    (project / "conda.yaml").write_text(conda_file(with_server=False))
    spec = project / "scripted.yml"
    spec.write_text(
        f"name: cli\nendpoint_name: {endpoint}\n"
        "code_configuration:\n  code: ./src\n  scoring_script: score.py\n"
        f"environment:\n  conda_file: ./conda.yaml\n  image: {IMAGE}\n"
        "instance_type: Standard_DS3_v2\ninstance_count: 1\n"
    )
    result = lab.in_process("deployment", "create", "-f", str(spec))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr  # the instance's log (printed) says it in two lines
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: deployment cli failed: Deployment 'cli' of endpoint '{endpoint}'")
    assert "No module named 'azureml_inference_server_http'" in errors[0]
    logs = ml_client.online_deployments.get_logs(
        "cli", endpoint, lines=200, container_type="storage-initializer"
    )
    assert "has no azureml-inference-server-http: Azure adds no inference server" in logs


def test_a_registered_environment_is_refused_in_one_line(ml_client, endpoint, project):
    named = ml_client.environments.create_or_update(
        Environment(
            name=f"scoring-{uuid.uuid4().hex[:8]}",
            version="1",
            conda_file=str(project / "conda.yaml"),
            image=IMAGE,
        )
    )
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "named", project, environment=f"azureml:{named.name}:1")
        ).result()
    assert raised.value.error.code == "BadArgument"
    assert f"environment azureml:{named.name}:1: registered environments are not emulated yet" in str(
        raised.value
    )
