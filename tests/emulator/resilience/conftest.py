"""Fixtures of the resilience tests: endpoints serving the demo heart classifier on the session's emulator.

Endpoints and deployments are made with the real azure-ai-ml MLClient; requests are plain HTTPS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, ProbeSettings

from chaos_support import https_client
from resilience_support import HeartEndpoint


@pytest.fixture(scope="module")
def client(emulator) -> Iterator[httpx.Client]:
    with https_client(emulator.ca_file) as client:
        yield client


@pytest.fixture(scope="module")
def deploy_heart(ml_client, emulator, registered_models) -> Iterator[Callable[..., HeartEndpoint]]:
    """`deploy_heart(name, auth_mode="key")` creates such an endpoint; all are deleted afterwards."""
    created: list[str] = []

    def deploy(name: str, auth_mode: str = "key") -> HeartEndpoint:
        ml_client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name=name, auth_mode=auth_mode)
        ).result()
        created.append(name)
        ml_client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name=name,
                model=f"azureml:{registered_models.heart}:1",
                instance_type="Standard_DS3_v2",
                instance_count=1,
                readiness_probe=ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=30),
            )
        ).result()
        endpoint = ml_client.online_endpoints.get(name)
        endpoint.traffic = {"blue": 100}
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
        key = (
            ml_client.online_endpoints.get_keys(name).primary_key
            if auth_mode == "key"
            else ml_client.online_endpoints.get_keys(name).access_token
        )
        return HeartEndpoint(name, emulator.scoring_uri(name), key)

    yield deploy
    for name in created:
        ml_client.online_endpoints.begin_delete(name).result()
