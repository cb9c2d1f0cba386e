# %% [markdown]
# # Safe rollout of a new model version with the MLflow client, on your laptop
#
# The MLflow cells of Azure's article "Perform safe rollout of new deployments for real-time
# inference", run against the local emulator. The one change is the tracking URI: `rollout://local`
# (the `rollout` MLflow plugin that ships with this project) instead of the workspace's
# `azureml://...` URI. Run it as is: `python examples/mlflow_safe_rollout.py` (the emulator starts
# on first use; its state, the registry and the config files go to the working directory).
#
# On Azure, set the tracking URI to the workspace's (`az ml workspace show --query
# mlflow_tracking_uri -o tsv`) and keep everything else.

# %%
import datetime
import json
import tempfile
from pathlib import Path

import mlflow
from mlflow.deployments import get_deploy_client

from rollout.demo_model import data, training

mlflow.set_tracking_uri("rollout://local")

# %% [markdown]
# ## Two versions of a heart-disease classifier (XGBoost), saved as MLflow models

# %%
model_name = "heart-classifier"
models_dir = Path(tempfile.mkdtemp(prefix="mlflow-safe-rollout-"))
model_local_path = models_dir / "model-1"
model_local_path_2 = models_dir / "model-2"
training.save(training.train(variant=1), model_local_path)
training.save(training.train(variant=2), model_local_path_2)

_, holdout = data.holdout_split(data.load_dataset())
samples = holdout[list(data.COLUMNS)].head(5)

# %% [markdown]
# ## Register the model and create the clients

# %%
mlflow_client = mlflow.MlflowClient()
deployment_client = get_deploy_client(mlflow.get_tracking_uri())

version = mlflow_client.create_model_version(name=model_name, source=f"file://{model_local_path}").version
print(f"registered {model_name} version {version}")

# %% [markdown]
# ## Create the endpoint

# %%
endpoint_name = "heart-classifier-" + datetime.datetime.now().strftime("%m%d%H%M%f")
endpoint_config = {"auth_mode": "key", "identity": {"type": "system_assigned"}}
endpoint_config_path = "endpoint_config.json"
with open(endpoint_config_path, "w") as outfile:
    outfile.write(json.dumps(endpoint_config))

endpoint = deployment_client.create_endpoint(
    name=endpoint_name,
    config={"endpoint-config-file": endpoint_config_path},
)
print(f"endpoint {endpoint['name']}: {endpoint['properties']['scoringUri']}")

# %% [markdown]
# ## Deploy version 1 as `default` and send it all the traffic

# %%
deploy_config = {"instance_type": "Standard_DS2_v2", "instance_count": 1}
deployment_config_path = "deployment_config.json"
with open(deployment_config_path, "w") as outfile:
    outfile.write(json.dumps(deploy_config))

blue_deployment_name = "default"
blue_deployment = deployment_client.create_deployment(
    name=blue_deployment_name,
    endpoint=endpoint_name,
    model_uri=f"models:/{model_name}/{version}",
    config={"deploy-config-file": deployment_config_path},
)
print(f"deployment {blue_deployment['name']}: {blue_deployment['properties']['provisioningState']}")

traffic_config = {"traffic": {blue_deployment_name: 100}}
traffic_config_path = "traffic_config.json"
with open(traffic_config_path, "w") as outfile:
    outfile.write(json.dumps(traffic_config))

deployment_client.update_endpoint(
    endpoint=endpoint_name,
    config={"endpoint-config-file": traffic_config_path},
)
print(deployment_client.predict(endpoint=endpoint_name, df=samples))

# %% [markdown]
# ## Register version 2 and deploy it beside version 1, without traffic

# %%
version_2 = mlflow_client.create_model_version(name=model_name, source=f"file://{model_local_path_2}").version

green_deployment_name = "xgboost-model-2"
green_deployment = deployment_client.create_deployment(
    name=green_deployment_name,
    endpoint=endpoint_name,
    model_uri=f"models:/{model_name}/{version_2}",
    config={"deploy-config-file": deployment_config_path},
)
print(deployment_client.predict(endpoint=endpoint_name, deployment_name=green_deployment_name, df=samples))

# %% [markdown]
# ## Move 10% of the traffic, then all of it

# %%
traffic_config = {"traffic": {blue_deployment_name: 90, green_deployment_name: 10}}
with open(traffic_config_path, "w") as outfile:
    outfile.write(json.dumps(traffic_config))
deployment_client.update_endpoint(
    endpoint=endpoint_name, config={"endpoint-config-file": traffic_config_path}
)

traffic_config = {"traffic": {blue_deployment_name: 0, green_deployment_name: 100}}
with open(traffic_config_path, "w") as outfile:
    outfile.write(json.dumps(traffic_config))
endpoint = deployment_client.update_endpoint(
    endpoint=endpoint_name, config={"endpoint-config-file": traffic_config_path}
)
print(f"traffic: {endpoint['properties']['traffic']}")

# %% [markdown]
# ## Retire the old deployment, then clean up

# %%
deployment_client.delete_deployment(blue_deployment_name, endpoint=endpoint_name)
print(f"deployments left: {[d['name'] for d in deployment_client.list_deployments(endpoint=endpoint_name)]}")

deployment_client.delete_endpoint(endpoint_name)
print(f"deleted endpoint {endpoint_name}")
