"""The model a deployment serves, from the `model_uri` given to the deployments client, as
azureml-mlflow's `handle_model_uri` reads it.

`models:/<name>/<version>` (or a stage, or `latest`) names a registered version; a `runs:/` or
`file://` URI is registered first, as `<deployment>-model`, when the tracking and registry URIs
are `rollout` URIs. Deployments refer to the version as `azureml:<name>:<version>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.exceptions import MlflowException

from rollout.core import paths

STAGES = ("None", "Staging", "Production", "Archived")
UNSUPPORTED = "Unsupported model uri provided, or tracking or registry uris are not set to a rollout uri."


@dataclass(frozen=True)
class ModelVersionRef:
    name: str
    version: str

    @property
    def azureml(self) -> str:
        """The reference a deployment spec takes."""
        return f"azureml:{self.name}:{self.version}"


def resolve(model_uri: str, deployment: str, registry_uri: str) -> ModelVersionRef:
    """The registered version `model_uri` names, registering a run's or a file's model first."""
    import mlflow

    if model_uri.startswith("models:/"):
        name, version = model_uri.rstrip("/").split("/")[-2:]
        if version in STAGES or version == "latest":
            return ModelVersionRef(name, _newest(registry_uri, name, version))
        return ModelVersionRef(name, version)
    rollout_uris = all(
        uri.startswith(f"{paths.ROLLOUT_SCHEME}:") or uri == paths.ROLLOUT_SCHEME
        for uri in (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    )
    if model_uri.startswith(("runs:/", "file://")) and rollout_uris:
        registered = mlflow.register_model(model_uri, f"{deployment}-model")
        return ModelVersionRef(registered.name, str(registered.version))
    raise MlflowException(UNSUPPORTED)


def from_arm_id(model: str) -> ModelVersionRef:
    """The version an existing deployment serves (`.../models/<name>/versions/<version>` or
    `azureml:<name>:<version>`)."""
    if model.startswith("azureml:") and model.count(":") == 2:
        _, name, version = model.split(":")
        return ModelVersionRef(name, version)
    parts = model.rstrip("/").split("/")
    return ModelVersionRef(parts[-3], parts[-1])


def _newest(registry_uri: str, name: str, stage: str) -> str:
    from rollout import registry

    client = registry.client(registry_uri)
    if stage == "latest":
        newest = registry.latest_version(client, name)
        if newest is None:
            raise MlflowException(f"Registered model {name} has no versions")
        return str(newest)
    versions = client.get_latest_versions(name, [stage])
    if not versions:
        raise MlflowException(f"Registered model {name} has no version in stage {stage}")
    return str(versions[0].version)
