"""A connection to a target: the MLClient plus what the release needs beside it.

One code path for both targets: endpoints and deployments always go through azure-ai-ml's
`MLClient`; scoring calls go through our own HTTPS client; analysis numbers come from the
emulator's metrics locally and from Azure Monitor on Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rollout.errors import UserError
from rollout.scoring_client import ScoringClient
from rollout.telemetry import AzureMonitorMetrics, EmulatorMetrics, MetricsSource

if TYPE_CHECKING:
    from azure.ai.ml import MLClient


@dataclass
class Connection:
    target: str
    options: dict[str, Any]

    @cached_property
    def ml(self) -> MLClient:
        import logging

        from rollout import targets

        client = targets.ml_client(self.target, **self.options)
        # azure-ai-ml logs "Check: endpoint ... exists" and the like at INFO to stderr; our own
        # progress says what is going on.
        logging.getLogger("azure.ai.ml").setLevel(logging.WARNING)
        return client

    @cached_property
    def verify(self) -> str | bool:
        from rollout import targets

        return targets.ca_file(self.target, **self.options) or True

    def scoring(self, endpoint_name: str) -> ScoringClient:
        """A scoring client for the endpoint, authenticated with its primary key or token."""
        from rollout.traffic import get_endpoint

        endpoint = get_endpoint(self.ml, endpoint_name)
        keys = self.ml.online_endpoints.get_keys(endpoint_name)
        credential = getattr(keys, "primary_key", None) or getattr(keys, "access_token", None)
        if not credential:
            raise UserError(f"endpoint {endpoint_name}: no key or token to call it with")
        return ScoringClient(endpoint.scoring_uri, credential, verify=self.verify)

    def metrics(self, endpoint_name: str) -> MetricsSource:
        from rollout import targets

        if self.target == "local":
            return EmulatorMetrics(targets.emulator_url(**self.options), self.verify)
        endpoint = self.ml.online_endpoints.get(endpoint_name)
        return AzureMonitorMetrics(endpoint.id, targets.credential(self.target, **self.options))
