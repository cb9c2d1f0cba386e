"""The config files of the deployments client, read as azureml-mlflow 1.60.0 reads them.

`config={"endpoint-config-file": path}` names a JSON or YAML endpoint config (`auth_mode`,
`identity`, `description`, `tags`, `location`, `traffic`, `mirror_traffic`, `properties`,
`async`); `config={"deploy-config-file": path}` a deployment config (`instance_type`,
`instance_count`, `description`, `environment_variables`, `app_insights_enabled`, `properties`,
`liveness_probe`, `readiness_probe`, `request_settings`, `scale_settings`, `type`, `async`).
The keys azureml-mlflow rejects are rejected with its messages; keys it ignores are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from mlflow.exceptions import MlflowException

ENDPOINT_CONFIG_FILE = "endpoint-config-file"
DEPLOY_CONFIG_FILE = "deploy-config-file"

# azureml-mlflow's messages, word for word.
PARSE_FAILED = "Failed to parse provided configuration file"
MODEL_IN_CONFIG = (
    "Unable to provide model information in the deployment config file when deploying through "
    "MLFlow. Please use the `model_uri` parameter."
)
NOT_FOR_MLFLOW = (
    "code_configuration, environment, and endpoint_name are not used with MLFlow deployments. "
    "Please remove from the deployment config and try again."
)
NOT_MANAGED = "Unable to deploy MLFlow model to {} compute, currently only supports Managed compute."
NOT_FOR_MLFLOW_KEYS = ("code_configuration", "environment", "endpoint_name")
V1_COMPUTE_TYPE_KEY = "computeType"  # ACI and AKS web services (SDK v1), which Azure retires
V1_UNSUPPORTED = (
    "computeType {} is an Azure ML v1 web service (ACI/AKS); the rollout target deploys to managed "
    "online endpoints only"
)

# azure-ai-ml's defaults for an endpoint made by azureml-mlflow without a config file.
DEFAULT_ENDPOINT = {
    "auth_mode": "aml_token",
    "identity": {"type": "system_assigned"},
    "properties": {"azureml.mlflow_client_endpoint": "True"},
}
DEFAULT_INSTANCE_TYPE = "Standard_DS3_v2"


@dataclass(frozen=True)
class EndpointConfig:
    """An endpoint config file's settings; None where the file says nothing."""

    auth_mode: str | None = None
    identity: dict[str, Any] | None = None
    description: str | None = None
    tags: dict[str, str] | None = None
    location: str | None = None
    traffic: dict[str, int] | None = None
    mirror_traffic: dict[str, int] | None = None
    properties: dict[str, str] | None = None
    no_wait: bool = False

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> EndpointConfig:
        return cls(
            auth_mode=settings.get("auth_mode"),
            identity=settings.get("identity"),
            description=settings.get("description"),
            tags=settings.get("tags"),
            location=settings.get("location"),
            traffic=settings.get("traffic"),
            mirror_traffic=settings.get("mirror_traffic"),
            properties=settings.get("properties"),
            no_wait=bool(settings.get("async", False)),
        )


@dataclass(frozen=True)
class DeployConfig:
    """A deployment config file's settings; `given` holds only what the file states."""

    given: dict[str, Any] = field(default_factory=dict)

    @property
    def instance_count(self) -> int | None:
        count = self.given.get("instance_count")
        return int(count) if count is not None else None

    @property
    def no_wait(self) -> bool:
        return bool(self.given.get("async", False))


def endpoint_config(config: dict[str, Any] | None) -> EndpointConfig | None:
    """The endpoint config file `config` names; None when it names none."""
    if not config or ENDPOINT_CONFIG_FILE not in config:
        return None
    return EndpointConfig.from_dict(read_config_file(config[ENDPOINT_CONFIG_FILE]))


def deploy_config_for_create(config: dict[str, Any] | None) -> DeployConfig | None:
    """The deploy config file of `create_deployment`; None when `config` names none.

    As in azureml-mlflow, every problem is raised as "Failed to parse provided configuration
    file", with the specific message as its cause.
    """
    if not config or DEPLOY_CONFIG_FILE not in config:
        return None
    settings = read_config_file(config[DEPLOY_CONFIG_FILE])
    try:
        if V1_COMPUTE_TYPE_KEY in settings:
            raise MlflowException(V1_UNSUPPORTED.format(settings[V1_COMPUTE_TYPE_KEY]))
        if "type" in settings and str(settings["type"]).lower() != "managed":
            raise MlflowException(NOT_MANAGED.format(settings["type"]))
        if "model" in settings:
            raise MlflowException(MODEL_IN_CONFIG)
        _reject_not_for_mlflow(settings)
    except Exception as error:
        raise MlflowException(PARSE_FAILED) from error
    return DeployConfig(settings)


def deploy_config_for_update(config: dict[str, Any] | None) -> DeployConfig | None:
    """The deploy config file of `update_deployment`; None when `config` names none.

    azureml-mlflow raises the code_configuration/environment/endpoint_name message itself here,
    and ignores a `model` key (the model comes from `model_uri` or the deployment).
    """
    if not config or DEPLOY_CONFIG_FILE not in config:
        return None
    settings = read_config_file(config[DEPLOY_CONFIG_FILE])
    _reject_not_for_mlflow(settings)
    return DeployConfig({key: value for key, value in settings.items() if key != "model"})


def read_config_file(path: str) -> dict[str, Any]:
    """A YAML or JSON config file as a dict (azureml-mlflow's `file_stream_to_object`)."""
    with open(path) as stream:
        text = stream.read()
    loaded: Any
    try:
        loaded = yaml.safe_load(text)
    except Exception:
        try:
            loaded = json.loads(text)
        except Exception as error:
            raise Exception("Error while parsing file. Must be valid JSON or YAML file.") from error
    return loaded if isinstance(loaded, dict) else {}


def _reject_not_for_mlflow(settings: dict[str, Any]) -> None:
    if any(key in settings for key in NOT_FOR_MLFLOW_KEYS):
        raise MlflowException(NOT_FOR_MLFLOW)
