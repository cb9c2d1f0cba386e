"""Wrong config keys give azureml-mlflow's errors, word for word.

The oracle is azureml-mlflow 1.60.0's own `AzureMLDeploymentClient`, given the same config files:
its checks run before it calls Azure, so it needs only a stand-in for the workspace it would call.
None of these calls needs the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import mlflow.deployments
import pytest
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException

MODEL_URI = "models:/heart-classifier/1"

# azureml-mlflow checks a model URI's version against MLflow's (deprecated) stages.
pytestmark = pytest.mark.filterwarnings(
    "ignore:``mlflow.tracking.client.MlflowClient.get_model_version_stages``"
)


def _azureml_client():
    """azureml-mlflow's deployments client, with a stand-in workspace and deployment to update."""
    from azureml.mlflow.deploy.deployment_client import AzureMLDeploymentClient

    client = AzureMLDeploymentClient.__new__(AzureMLDeploymentClient)
    client.target_uri = "azureml://stand-in"
    client.service_context = SimpleNamespace(subscription_id="s", resource_group_name="r", workspace_name="w")
    existing = SimpleNamespace(properties=SimpleNamespace(model="/models/heart-classifier/versions/1"))
    client._get_endpoint = lambda name: {"name": name}
    client.get_deployment = lambda name, endpoint=None: {"name": name}
    client._mir_client = SimpleNamespace(_get_deployment=lambda name, endpoint: existing)
    return client


def _raised(call) -> MlflowException:
    with pytest.raises(MlflowException) as caught:
        call()
    return caught.value


def _messages(error: BaseException) -> list[str]:
    """The error's message and those of its causes."""
    chain = []
    while error is not None:
        chain.append(getattr(error, "message", None) or str(error))
        error = error.__cause__
    return chain


@pytest.fixture
def clients(rollout_local):
    return get_deploy_client("rollout://local"), _azureml_client()


@pytest.mark.parametrize(
    "deploy_config",
    [
        {"instance_type": "Standard_DS3_v2", "model": "azureml:heart-classifier:1"},
        {
            "instance_type": "Standard_DS3_v2",
            "code_configuration": {"code": "src", "scoring_script": "score.py"},
        },
        {"instance_type": "Standard_DS3_v2", "environment": "azureml:sklearn:1"},
        {"instance_type": "Standard_DS3_v2", "endpoint_name": "heart-classifier"},
    ],
    ids=["model", "code_configuration", "environment", "endpoint_name"],
)
def test_create_deployment_refuses_what_azureml_mlflow_refuses(clients, deploy_config):
    ours, theirs = clients
    Path("deployment_config.json").write_text(json.dumps(deploy_config))
    config = {"deploy-config-file": "deployment_config.json"}

    expected = _raised(lambda: theirs.create_deployment("blue", MODEL_URI, config=config, endpoint="ep"))
    error = _raised(lambda: ours.create_deployment("blue", MODEL_URI, config=config, endpoint="ep"))

    assert _messages(error) == _messages(expected)
    assert _messages(error)[0] == "Failed to parse provided configuration file"
    assert len(_messages(error)) == 2


@pytest.mark.parametrize("key", ["code_configuration", "environment", "endpoint_name"])
def test_update_deployment_refuses_what_azureml_mlflow_refuses(clients, key):
    ours, theirs = clients
    Path("deployment_config.json").write_text(json.dumps({"instance_count": 2, key: "x"}))
    config = {"deploy-config-file": "deployment_config.json"}

    expected = _raised(lambda: theirs.update_deployment("blue", config=config, endpoint="ep"))
    error = _raised(lambda: ours.update_deployment("blue", config=config, endpoint="ep"))

    assert _messages(error) == _messages(expected)
    assert _messages(error)[0].startswith("code_configuration, environment, and endpoint_name are not used")


def test_flavor_and_predict_arguments_as_azureml_mlflow(clients):
    ours, theirs = clients

    for client in (ours, theirs):
        error = _raised(
            lambda c=client: c.create_deployment("blue", MODEL_URI, flavor="sklearn", endpoint="ep")
        )
        assert (
            error.message
            == "Unable to use sklearn model flavor, AML currently only supports python_function."
        )
        error = _raised(lambda c=client: c.predict(df=None))
        assert error.message == "Error, must provide one of deployment_name or endpoint"


def test_the_plugin_is_found_by_its_entry_points(rollout_local):
    from rollout.mlflow_plugin.client import RolloutDeploymentClient

    assert isinstance(get_deploy_client("rollout://local"), RolloutDeploymentClient)
    plugin = mlflow.deployments.plugin_manager.DeploymentPlugins()["rollout://local"]
    assert "rollout://local" in plugin.target_help()
    assert "azureml://" in plugin.target_help()  # what to use on Azure
    assert callable(plugin.run_local)


def test_only_the_local_location_is_served(rollout_local):
    for uri in ("rollout://azure/subscriptions/s/resourceGroups/r/workspaces/w", "rollout://elsewhere"):
        error = _raised(lambda u=uri: get_deploy_client(u))
        assert "rollout://local" in error.message and "azureml://" in error.message
        error = _raised(
            lambda u=uri: mlflow.MlflowClient(tracking_uri=u, registry_uri=u).search_registered_models()
        )
        assert "rollout://local" in error.message
