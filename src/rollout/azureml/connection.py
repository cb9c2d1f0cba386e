"""A connection to a target: the MLClient plus what the release needs beside it.

One code path for both targets: endpoints and deployments always go through azure-ai-ml's
`MLClient`; scoring calls go through our own HTTPS client; analysis numbers come from the
target's metrics source (the emulator's metrics locally, Azure Monitor on Azure).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from rollout.azureml.endpoints import get_endpoint
from rollout.azureml.scoring import ScoringClient
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from rollout.azureml.metrics_sources import MetricsSource
    from rollout.azureml.targets import Target


@dataclass
class Connection:
    target: Target

    @cached_property
    def ml(self) -> MLClient:
        import logging

        client = self.target.ml_client()
        # azure-ai-ml logs "Check: endpoint ... exists" and the like at INFO to stderr; our own
        # progress says what is going on.
        logging.getLogger("azure.ai.ml").setLevel(logging.WARNING)
        return client

    @cached_property
    def verify(self) -> str | bool:
        return self.target.ca_file() or True

    def scoring(self, endpoint_name: str) -> ScoringClient:
        """A scoring client for the endpoint, authenticated with its primary key or token."""
        endpoint = get_endpoint(self.ml, endpoint_name)
        credential = self.scoring_credential(endpoint_name)
        if not endpoint.scoring_uri:
            raise UserError(f"endpoint {endpoint_name}: no scoring URI yet")
        return ScoringClient(
            endpoint.scoring_uri, credential, verify=self.verify, swagger_uri=endpoint.openapi_uri
        )

    def scoring_credential(self, endpoint_name: str) -> str:
        """The endpoint's primary key (key auth) or a fresh token (token auth)."""
        keys = self.ml.online_endpoints.get_keys(endpoint_name)
        credential = getattr(keys, "primary_key", None) or getattr(keys, "access_token", None)
        if not credential:
            raise UserError(f"endpoint {endpoint_name}: no key or token to call it with")
        return str(credential)

    def metrics(self, endpoint_name: str) -> MetricsSource:
        return self.target.metrics_source(self.ml, endpoint_name)
