"""The Azure target: `MLClient(DefaultAzureCredential(), subscription, resource_group, workspace)`.

The cloud is the user's: `cloud` when given (`rollout --cloud`), else what azure-ai-ml picks by
itself (`AZUREML_CURRENT_CLOUD`, `ARM_CLOUD_METADATA_URL`, else AzureCloud); see
`rollout.azureml.cloud`. Trust for a cloud's TLS comes from the environment (REQUESTS_CA_BUNDLE for
azure-core, SSL_CERT_FILE for the scoring client), as for any other Azure client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from rollout.azureml import write_fence
from rollout.azureml.cloud import CLOUD_ENV, CloudEndpoints, resolve_cloud
from rollout.azureml.recording import recorder
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

    from rollout.azureml.metrics_sources import MetricsSource

AZURE_ENV = {
    "subscription": "AZURE_SUBSCRIPTION_ID",
    "resource_group": "AZURE_RESOURCE_GROUP",
    "workspace": "AZUREML_WORKSPACE",
}


@dataclass(frozen=True)
class AzureTarget:
    """An Azure ML workspace; a scope left out is read from its environment variable (AZURE_ENV).

    `cloud` names the Azure cloud; None leaves the choice to azure-ai-ml's own settings.
    """

    subscription: str | None = None
    resource_group: str | None = None
    workspace: str | None = None
    cloud: str | None = None

    @property
    def name(self) -> str:
        return "azure"

    def given(self) -> dict[str, str | None]:
        """The scope as the options gave it, keyed like AZURE_ENV."""
        return {
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "workspace": self.workspace,
        }

    def scope(self) -> dict[str, str]:
        """Subscription, resource group and workspace from the fields or their environment variables."""
        scope = {key: value or os.environ.get(AZURE_ENV[key], "") for key, value in self.given().items()}
        missing = [AZURE_ENV[key] for key, value in scope.items() if not value]
        if missing:
            raise UserError(
                f"target azure needs {', '.join(missing)} (set the variables or pass the options)"
            )
        return scope

    def ml_client(self) -> MLClient:
        from azure.ai.ml import MLClient

        scope = self.scope()
        return MLClient(
            self.credential(),
            scope["subscription"],
            scope["resource_group"],
            scope["workspace"],
            cloud=self.endpoints.name,
            raw_request_hook=write_fence.request_hook,
            **recorder.azure_options(),
        )

    @cached_property
    def endpoints(self) -> CloudEndpoints:
        """The cloud's endpoints, resolved once: MLClient and the metrics client share them."""
        return resolve_cloud(self.cloud)

    def credential(self) -> TokenCredential:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def token_scope(self) -> str:
        return self.endpoints.arm_scope

    def location(self) -> str:
        return f"cloud {self.endpoints.name} ({self.endpoints.resource_manager})"

    def mlflow_uri(self) -> str:
        workspace = self.scope()["workspace"]
        uri = self.ml_client().workspaces.get(workspace).mlflow_tracking_uri
        if not uri:
            raise UserError(f"workspace {workspace} reports no MLflow tracking URI")
        return uri

    def ca_file(self) -> str | None:
        return None

    def metrics_source(self, ml: MLClient, endpoint: str) -> MetricsSource:
        from rollout.azureml.azure_monitor import AzureMonitorMetrics

        return AzureMonitorMetrics(
            ml.online_endpoints.get(endpoint).id,
            self.credential(),
            self.endpoints,
            **recorder.azure_options(),
        )

    def blob_account_url(self, account: str, suffix: str) -> str:
        return f"https://{account}.blob.{suffix}"

    def child_environment(self) -> dict[str, str]:
        given = {AZURE_ENV[key]: value for key, value in self.given().items() if value}
        return given | ({CLOUD_ENV: self.cloud} if self.cloud else {})
