"""The deployments client's calls beyond the article's sequence: `run_local` (an endpoint of the
deployment's name with all its traffic), `predict` by that name, `update_deployment` (a new model
version and instance count), deleting the last deployment with its endpoint, and the errors of
names that do not exist (azureml-mlflow's messages)."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow.deployments import get_deploy_client, run_local
from mlflow.exceptions import MlflowException

from rollout.demo_model import data


@pytest.mark.timeout(900)
def test_run_local_update_delete_and_names_that_do_not_exist(rollout_local, saved_models):
    mlflow_client = mlflow.MlflowClient()
    client = get_deploy_client("rollout://local")
    for path in (saved_models.first, saved_models.second):
        mlflow_client.create_model_version(name="heart-classifier", source=f"file://{path}")
    samples = data.load_dataset()[list(data.COLUMNS)].head(3)

    run_local("rollout", name="heart-local", model_uri="models:/heart-classifier/1")

    endpoint = client.get_endpoint("heart-local")
    assert endpoint["properties"]["traffic"] == {"heart-local": 100}
    assert endpoint["properties"]["authMode"] == "AMLToken"  # azureml-mlflow's default endpoint
    assert len(client.predict(deployment_name="heart-local", inputs=samples)) == 3

    with open("deploy.json", "w") as outfile:
        outfile.write(json.dumps({"instance_count": 2, "request_settings": {"request_timeout_ms": 3000}}))
    client.update_deployment(
        "heart-local",
        model_uri="models:/heart-classifier/latest",
        config={"deploy-config-file": "deploy.json"},
    )
    deployment = client.get_deployment("heart-local")
    assert deployment["properties"]["model"].endswith("/models/heart-classifier/versions/2")
    assert deployment["sku"]["capacity"] == 2
    assert deployment["properties"]["requestSettings"]["request_timeout_ms"] == 3000
    assert [d["name"] for d in client.list_deployments()] == ["heart-local"]

    client.delete_deployment("heart-local", delete_empty_endpoint=True)
    assert client.list_endpoints() == []
    client.delete_deployment("heart-local")  # idempotent

    # names that do not exist, in azureml-mlflow's words
    with pytest.raises(MlflowException, match=r"^No deployment with name nowhere found$"):
        client.get_deployment("nowhere")
    with pytest.raises(MlflowException, match=r"^No deployment with name nowhere found to update$"):
        client.update_deployment("nowhere")
    with pytest.raises(MlflowException, match=r"^No deployment with name nowhere found to predict against$"):
        client.predict(deployment_name="nowhere", df=samples)
    with pytest.raises(MlflowException, match=r"^No endpoint with name nowhere found to update$"):
        client.update_endpoint("nowhere")
