"""azureml-mlflow's own deployments client (`mlflow.deployments.get_deploy_client(<workspace tracking
URI>)`) against the emulator presented as an Azure cloud: create an endpoint and a deployment, change
traffic (a PATCH), predict (scoring plus the swagger document's output format), delete."""

from __future__ import annotations

from pathlib import Path

from cloud_support import run_in_cloud
from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "sample.json"


def test_the_mlflow_deployments_client_of_azureml_mlflow(emulator, registered_models, unique_name, tmp_path):
    endpoint = unique_name("mlflowdc")
    code = f"""
        import json, pathlib
        import pandas as pd
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential
        from mlflow.deployments import get_deploy_client

        ml = MLClient(DefaultAzureCredential(), "{SUBSCRIPTION_ID}", "{RESOURCE_GROUP}", "{WORKSPACE}")
        client = get_deploy_client(ml.workspaces.get("{WORKSPACE}").mlflow_tracking_uri)
        deploy = pathlib.Path("deploy.json")
        deploy.write_text(json.dumps({{"instance_type": "Standard_DS3_v2", "instance_count": 1}}))
        traffic = pathlib.Path("traffic.json")
        traffic.write_text(json.dumps({{"traffic": {{"blue": 100}}}}))

        client.create_endpoint("{endpoint}")
        client.create_deployment(
            "blue", "models:/{registered_models.heart}/1", config={{"deploy-config-file": str(deploy)}},
            endpoint="{endpoint}",
        )
        client.update_endpoint("{endpoint}", config={{"endpoint-config-file": str(traffic)}})
        got = client.get_endpoint("{endpoint}")
        sample = json.loads(pathlib.Path(r"{SAMPLE}").read_text())["input_data"]
        frame = pd.DataFrame(sample["data"], columns=sample["columns"])
        predictions = client.predict(endpoint="{endpoint}", df=frame)
        deployments = [d["name"] for d in client.list_deployments(endpoint="{endpoint}")]
        traffic.write_text('{{"traffic": {{}}}}')
        client.update_endpoint("{endpoint}", config={{"endpoint-config-file": str(traffic)}})
        client.delete_deployment("blue", endpoint="{endpoint}")
        client.delete_endpoint("{endpoint}")
        left = [e["name"] for e in client.list_endpoints()]
        print()  # after the progress dots azureml-mlflow's pollers print
        print(json.dumps({{
            "traffic": got["properties"]["traffic"], "swagger": got["properties"]["swaggerUri"],
            "predictions": predictions.iloc[:, 0].tolist(), "type": type(predictions).__name__,
            "deployments": deployments, "left": left,
        }}))
    """
    seen = run_in_cloud(emulator.url, emulator.ca_file, emulator.state_dir, tmp_path, code)
    assert seen["traffic"] == {"blue": 100}
    assert seen["swagger"].endswith(f"/online-endpoints/{endpoint}/swagger.json")
    assert seen["type"] == "DataFrame"  # its swagger's ServiceOutput format: pandas.DataFrame:records
    assert seen["predictions"] in ([0], [1])
    assert seen["deployments"] == ["blue"]
    assert endpoint not in seen["left"]
