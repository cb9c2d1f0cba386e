"""The MLflow sequence of Azure's article "Perform safe rollout of new deployments for real-time
inference", verbatim apart from the tracking URI (`rollout://local`, from MLFLOW_TRACKING_URI) and
the file paths, with the article's config JSON shapes. The emulator starts on first use.
"""

from __future__ import annotations

import json
from collections import Counter

import mlflow
import pandas as pd
import pytest
from mlflow.deployments import get_deploy_client

from rollout.demo_model import data

MODEL_NAME = "heart-classifier"
ENDPOINT_NAME = "heart-classifier-mlflow"


def _write(path: str, content: dict) -> None:
    with open(path, "w") as outfile:
        outfile.write(json.dumps(content))


def _served_by(mlflow_endpoint: str, count: int) -> Counter[str]:
    """Which deployment served each of `count` requests (sent with the project's own client)."""
    from rollout.azureml.connection import Connection
    from rollout.azureml.local_target import LocalTarget

    served: Counter[str] = Counter()
    with Connection(LocalTarget()).scoring(mlflow_endpoint) as scoring:
        body = data.request_body(data.load_dataset().head(1))
        for _ in range(count):
            reply = scoring.score(body)
            assert reply.ok, reply.text
            served[str(reply.deployment)] += 1
    return served


@pytest.mark.timeout(900)
def test_article_mlflow_sequence(rollout_local, saved_models):
    model_name = MODEL_NAME
    endpoint_name = ENDPOINT_NAME
    model_local_path = saved_models.first
    _, holdout = data.holdout_split(data.load_dataset())
    samples = holdout[list(data.COLUMNS)].head(8)
    expected = {
        1: mlflow.pyfunc.load_model(str(saved_models.first)).predict(samples),
        2: mlflow.pyfunc.load_model(str(saved_models.second)).predict(samples),
    }
    assert mlflow.get_tracking_uri() == "rollout://local"

    # Register the model (the registered model does not exist yet: the registry creates it).
    mlflow_client = mlflow.MlflowClient()
    deployment_client = get_deploy_client(mlflow.get_tracking_uri())
    version = mlflow_client.create_model_version(name=model_name, source=f"file://{model_local_path}").version
    assert str(version) == "1"
    registered = mlflow_client.get_model_version(model_name, version)
    assert registered.source.startswith((rollout_local.parent / "rollout-home" / "artifacts").as_uri())

    # Create the endpoint.
    _write("endpoint_config.json", {"auth_mode": "key", "identity": {"type": "system_assigned"}})
    endpoint = deployment_client.create_endpoint(
        name=endpoint_name, config={"endpoint-config-file": "endpoint_config.json"}
    )
    assert endpoint["name"] == endpoint_name
    assert endpoint["properties"]["authMode"] == "Key"
    assert endpoint["identity"]["type"] == "SystemAssigned"

    # Deploy version 1 as "default", then give it all the traffic.
    _write("deployment_config.json", {"instance_type": "Standard_DS2_v2", "instance_count": 1})
    blue = deployment_client.create_deployment(
        name="default",
        endpoint=endpoint_name,
        model_uri=f"models:/{model_name}/{version}",
        config={"deploy-config-file": "deployment_config.json"},
    )
    assert blue["name"] == "default" and blue["flavor"] == "python_function"
    assert blue["properties"]["provisioningState"] == "Succeeded"
    assert blue["properties"]["instanceType"] == "Standard_DS2_v2" and blue["sku"]["capacity"] == 1
    _write("traffic_config.json", {"traffic": {"default": 100}})
    endpoint = deployment_client.update_endpoint(
        endpoint=endpoint_name, config={"endpoint-config-file": "traffic_config.json"}
    )
    assert endpoint["properties"]["traffic"] == {"default": 100}

    # Predict: one prediction per row, as azureml-mlflow returns them (a DataFrame, records orientation).
    predictions = deployment_client.predict(endpoint=endpoint_name, df=samples)
    assert isinstance(predictions, pd.DataFrame) and len(predictions) == len(samples)
    assert predictions[0].tolist() == list(expected[1])

    # Version 2 as "xgboost-model-2", without traffic; scored by name.
    version_2 = mlflow_client.create_model_version(
        name=model_name, source=f"file://{saved_models.second}"
    ).version
    assert str(version_2) == "2"
    deployment_client.create_deployment(
        name="xgboost-model-2",
        endpoint=endpoint_name,
        model_uri=f"models:/{model_name}/{version_2}",
        config={"deploy-config-file": "deployment_config.json"},
    )
    assert deployment_client.get_endpoint(endpoint_name)["properties"]["traffic"] == {
        "default": 100,
        "xgboost-model-2": 0,
    }
    predictions = deployment_client.predict(
        endpoint=endpoint_name, deployment_name="xgboost-model-2", df=samples
    )
    assert predictions[0].tolist() == list(expected[2])
    predictions = deployment_client.predict(
        endpoint=endpoint_name, deployment_name="xgboost-model-2", inputs=samples
    )  # MLflow's own keyword
    assert predictions[0].tolist() == list(expected[2])

    # 90/10, then 0/100.
    _write("traffic_config.json", {"traffic": {"default": 90, "xgboost-model-2": 10}})
    endpoint = deployment_client.update_endpoint(
        endpoint=endpoint_name, config={"endpoint-config-file": "traffic_config.json"}
    )
    assert endpoint["properties"]["traffic"] == {"default": 90, "xgboost-model-2": 10}
    assert _served_by(endpoint_name, 100) == {"default": 90, "xgboost-model-2": 10}
    _write("traffic_config.json", {"traffic": {"default": 0, "xgboost-model-2": 100}})
    deployment_client.update_endpoint(
        endpoint=endpoint_name, config={"endpoint-config-file": "traffic_config.json"}
    )
    assert _served_by(endpoint_name, 20) == {"xgboost-model-2": 20}
    predictions = deployment_client.predict(endpoint=endpoint_name, df=samples)
    assert predictions[0].tolist() == list(expected[2])

    # Retire "default", then delete the endpoint.
    deployment_client.delete_deployment("default", endpoint=endpoint_name)
    assert [d["name"] for d in deployment_client.list_deployments(endpoint=endpoint_name)] == [
        "xgboost-model-2"
    ]
    deployment_client.delete_endpoint(endpoint_name)
    assert endpoint_name not in [e["name"] for e in deployment_client.list_endpoints()]
    deployment_client.delete_endpoint(endpoint_name)  # idempotent, as MLflow's contract asks
