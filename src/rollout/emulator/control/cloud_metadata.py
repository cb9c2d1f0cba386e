"""The ARM cloud-metadata document: the emulator presented as an Azure cloud.

`GET /metadata/endpoints?api-version=2019-05-01` answers, without authentication, what
`https://management.azure.com/metadata/endpoints` answers: a JSON list of clouds. It holds one cloud,
`CLOUD_NAME`, whose resource manager, portal, login endpoint and audiences are the emulator's own
URL, and whose storage suffix is Azure's public one (blob URLs are then served path-style on the
emulator's host). Clients select it with

    AZUREML_CURRENT_CLOUD=<CLOUD_NAME>
    ARM_CLOUD_METADATA_URL=https://127.0.0.1:<port>/metadata/endpoints?api-version=2019-05-01
    REQUESTS_CA_BUNDLE=<the emulator's CA file>

azure-ai-ml reads `name`, `portal`, `resourceManager`, `authentication.loginEndpoint` and
`suffixes.storage`; azureml-mlflow also reads `authentication.audiences` and the other suffixes and
endpoints, so the document carries every field Azure's does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rollout.emulator.constants import CLOUD_METADATA_PATH, CLOUD_NAME, STORAGE_SUFFIX


def document(base_url: str, name: str = CLOUD_NAME) -> list[dict[str, Any]]:
    """The metadata list (2019-05-01 shape) of the one cloud whose resource manager is `base_url`."""
    base = base_url.rstrip("/") + "/"
    return [
        {
            "portal": base,
            "authentication": {
                "loginEndpoint": base,
                "audiences": [base, base.rstrip("/")],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": base,
            "graphAudience": base,
            "graph": base,
            "name": name,
            "suffixes": {
                "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
                "acrLoginServer": "azurecr.io",
                "sqlServerHostname": "database.windows.net",
                "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
                "keyVaultDns": "vault.azure.net",
                "storage": STORAGE_SUFFIX,
                "azureFrontDoorEndpointSuffix": "azurefd.net",
                "storageSyncEndpointSuffix": "afs.azure.net",
                "mhsmDns": "managedhsm.azure.net",
                "mysqlServerEndpoint": "mysql.database.azure.com",
                "postgresqlServerEndpoint": "postgres.database.azure.com",
                "mariadbServerEndpoint": "mariadb.database.azure.com",
                "synapseAnalytics": "dev.azuresynapse.net",
                "attestationEndpoint": "attest.azure.net",
            },
            "batch": base,
            "resourceManager": base,
            "vmImageAliasDoc": base,
            "activeDirectoryDataLake": base,
            "sqlManagement": base,
            "microsoftGraphResourceId": base,
            "appInsightsResourceId": base,
            "appInsightsTelemetryChannelResourceId": base,
            "attestationResourceId": base,
            "synapseAnalyticsResourceId": base,
            "logAnalyticsResourceId": base,
            "ossrDbmsResourceId": base,
            "gallery": base,
        }
    ]


def routes(base_url: str) -> list[Route]:
    """`GET /metadata/endpoints` (any api-version, no authentication)."""
    body = document(base_url)

    async def cloud_metadata(request: Request) -> Response:
        """The ARM cloud-metadata document naming the emulator as a cloud's resource manager."""
        return JSONResponse(body)

    return [Route(CLOUD_METADATA_PATH, cloud_metadata, methods=["GET"], name="cloud_metadata")]
