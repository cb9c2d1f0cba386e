"""Deployments with a scoring script through the real azure-ai-ml MLClient: `code_configuration` with a
local folder and an inline `environment` (conda file and image). azure-ai-ml uploads the folder as a code
asset (hash lookup, startPendingUpload, blob uploads, code version PUT) and registers the environment as
an anonymous environment version before it PUTs the deployment; the emulator keeps both, reads them back
in Azure's shape, and refuses to provision the deployment (instances serve MLflow models only), in the
operation's error and in the deployment's logs."""

from __future__ import annotations

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

IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"
REFUSAL = (
    "deployments with code_configuration are not emulated yet: instances serve MLflow models without a "
    "scoring script"
)
CONDA = """\
name: scoring
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip
  - pip:
      - azureml-inference-server-http
"""


def conforms(body: object, schema: dict) -> None:
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def project(tmp_path) -> Path:
    """A scoring script folder (unique content: the session's emulator is shared) and a conda file."""
    source = tmp_path / "src"
    (source / "helpers").mkdir(parents=True)
    (source / "score.py").write_text(
        f"# {uuid.uuid4()}\nimport json\n\n\ndef init():\n    pass\n\n\ndef run(raw_data):\n"
        "    return json.loads(raw_data)\n"
    )
    (source / "helpers" / "features.py").write_bytes(b"SCALE = 2\r\n\x00binary-safe\n")
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


def test_a_scoring_script_deployment_registers_its_code_and_environment_then_is_refused(
    ml_client, emulator, registered_models, endpoint, project
):
    model = f"azureml:{registered_models.heart}:1"
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "blue", project, model=model)
        ).result()
    assert raised.value.error.code == "BadArgument"
    assert REFUSAL in str(raised.value)

    got = ml_client.online_deployments.get("blue", endpoint)
    assert got.provisioning_state == "Failed"
    assert got.code_configuration.scoring_script == "score.py"
    assert got.model.endswith(f"/models/{registered_models.heart}/versions/1")
    code_name, code_version = _name_and_version(got.code_configuration.code)
    environment_name, environment_version = _name_and_version(got.environment)
    assert environment_name == "CliV2AnonymousEnvironment"

    code = ml_client._code.get(code_name, code_version)
    assert code._is_anonymous and code.properties["hash_version"] == "202208"
    container, _, folder = code.path.split(".blob.core.windows.net/", 1)[1].partition("/")
    uploaded = emulator.state_dir / "blobs" / "rolloutemulator" / container / folder
    for relative in ("score.py", "helpers/features.py"):
        assert (uploaded / relative).read_bytes() == (project / "src" / relative).read_bytes()

    environment = ml_client.environments.get(environment_name, environment_version)
    assert environment.image == IMAGE
    assert environment.conda_file == yaml.safe_load(CONDA)
    assert environment.id.endswith(f"/environments/{environment_name}/versions/{environment_version}")

    for container_type in ("inference-server", "storage-initializer"):
        logs = ml_client.online_deployments.get_logs(
            "blue", endpoint, lines=20, container_type=container_type
        )
        assert REFUSAL in logs
        assert f"Scoring script score.py of code azureml:{code_name}:{code_version}" in logs

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

    # The same folder again (a deployment without a model): azure-ai-ml finds it by its hash and
    # uploads nothing; the anonymous environment is the same version; the script is refused alike.
    with pytest.raises(HttpResponseError, match="not emulated yet"):
        ml_client.online_deployments.begin_create_or_update(_deployment(endpoint, "green", project)).result()
    again = ml_client.online_deployments.get("green", endpoint)
    assert again.code_configuration.code == got.code_configuration.code
    assert again.environment == got.environment
    assert again.model is None and again.provisioning_state == "Failed"


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


def test_rollout_deployment_create_ends_in_one_clear_line(lab, endpoint, project):
    spec = project / "scripted.yml"
    spec.write_text(
        f"name: cli\nendpoint_name: {endpoint}\n"
        "code_configuration:\n  code: ./src\n  scoring_script: score.py\n"
        f"environment:\n  conda_file: ./conda.yaml\n  image: {IMAGE}\n"
        "instance_type: Standard_DS3_v2\ninstance_count: 1\n"
    )
    result = lab.in_process("deployment", "create", "-f", str(spec))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: deployment cli failed: Deployment 'cli' of endpoint '{endpoint}'")
    assert REFUSAL in errors[0]
