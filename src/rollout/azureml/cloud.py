"""Which Azure cloud the azure target talks to, resolved exactly as azure-ai-ml resolves it.

azure-ai-ml knows AzureCloud, AzureUSGovernment and AzureChinaCloud by name, and any other cloud
from an ARM cloud-metadata document (`ARM_CLOUD_METADATA_URL`, the format of
`https://management.azure.com/metadata/endpoints?api-version=2019-05-01`). Without a name it takes
`AZUREML_CURRENT_CLOUD`, else the cloud of the metadata document whose resource manager the URL
names, else AzureCloud. `MLClient` and the Azure Monitor client are both built from the one
`CloudEndpoints` this module returns, so they always reach the same cloud. The helpers used here are
private to azure-ai-ml: this module is the only place that calls them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rollout.core.errors import UserError

CLOUD_ENV = "AZUREML_CURRENT_CLOUD"  # azure-ai-ml's (and azureml-mlflow's) own variable
METADATA_URL_ENV = "ARM_CLOUD_METADATA_URL"


@dataclass(frozen=True)
class CloudEndpoints:
    """The endpoints of one Azure cloud that rollout's clients use."""

    name: str
    resource_manager: str  # https://management.azure.com, without a trailing slash
    active_directory: str

    @property
    def arm_scope(self) -> str:
        """The token scope of the resource manager (what MLClient asks its credential for)."""
        return f"{self.resource_manager}/.default"


def resolve_cloud(name: str | None = None) -> CloudEndpoints:
    """The cloud `name` names, or the one azure-ai-ml picks by default; a UserError if unknown."""
    try:
        # importing azure.ai.ml resolves the default cloud already, so the import can fail as well
        from azure.ai.ml._azure_environments import EndpointURLS, _get_cloud_details, _get_default_cloud_name

        cloud_name = name or _get_default_cloud_name()
        details = _get_cloud_details(cloud_name)
    except Exception as error:
        if type(error).__name__ != "MlException":  # azure.ai.ml.exceptions.MlException
            raise
        unknown = name or os.environ.get(CLOUD_ENV)
        raise UserError(
            f"unknown Azure cloud {unknown!r}: use AzureCloud, AzureUSGovernment or AzureChinaCloud, "
            f"or set {METADATA_URL_ENV} to a cloud-metadata document that lists it"
        ) from None
    return CloudEndpoints(
        name=cloud_name,
        resource_manager=str(details[EndpointURLS.RESOURCE_MANAGER_ENDPOINT]).rstrip("/"),
        active_directory=str(details[EndpointURLS.ACTIVE_DIRECTORY_ENDPOINT]).rstrip("/"),
    )
