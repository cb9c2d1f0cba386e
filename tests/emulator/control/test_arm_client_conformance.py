"""A second official client: the generated ARM REST client inside azure-ai-ml (api-version 2025-12-01).

The toolkit drives the emulator through `MLClient`; this module drives it through the lower-level
`MachineLearningServicesMgmtClient` that ships in `azure.ai.ml._restclient.arm_ml_service`, one
online-endpoints and online-deployments operation at a time: create, get, list, update (PATCH),
delete, list and regenerate keys, get token, get logs, list skus. Every reply is deserialised by that
client's own models and its long-running operations are polled by its own pollers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from azure.ai.ml._restclient.arm_ml_service import MachineLearningServicesMgmtClient
from azure.ai.ml._restclient.arm_ml_service import models as arm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from rollout.azureml.local_target import LocalTarget
from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE

RG, WS = RESOURCE_GROUP, WORKSPACE


@pytest.fixture(scope="module")
def client(emulator) -> Iterator[MachineLearningServicesMgmtClient]:
    mgmt = MachineLearningServicesMgmtClient(
        LocalTarget(emulator.state_dir).credential(),
        SUBSCRIPTION_ID,
        base_url=emulator.url,
        credential_scopes=[f"{emulator.url}/.default"],
        connection_verify=emulator.ca_file,
    )
    assert mgmt._config.api_version == "2025-12-01"
    yield mgmt
    mgmt.close()


@pytest.fixture(scope="module")
def endpoint(client, unique_name) -> Iterator[str]:
    name = unique_name("armclient")
    yield name
    try:
        client.online_endpoints.begin_update(RG, WS, name, body={"properties": {"traffic": {}}}).result()
        client.online_endpoints.begin_delete(RG, WS, name).result()
    except ResourceNotFoundError:
        pass


def _deployment(model: str, capacity: int = 1) -> arm.OnlineDeployment:
    return arm.OnlineDeployment(
        location="local",
        sku=arm.Sku(name="Default", capacity=capacity),
        properties=arm.ManagedOnlineDeployment(
            model=model,
            instance_type="Standard_DS3_v2",
            readiness_probe=arm.ProbeSettings(
                initial_delay=dt.timedelta(seconds=1), period=dt.timedelta(seconds=1), failure_threshold=30
            ),
            request_settings=arm.OnlineRequestSettings(
                request_timeout=dt.timedelta(seconds=5), max_concurrent_requests_per_instance=2
            ),
        ),
    )


def test_endpoint_create_get_list(client, endpoint, emulator):
    created = client.online_endpoints.begin_create_or_update(
        RG,
        WS,
        endpoint,
        arm.OnlineEndpoint(
            location="local",
            kind="Managed",
            tags={"team": "ml"},
            identity=arm.ManagedServiceIdentity(type="SystemAssigned"),
            properties=arm.OnlineEndpointProperties(auth_mode="Key", description="conformance"),
        ),
    ).result()
    assert isinstance(created, arm.OnlineEndpoint)
    assert created.name == endpoint
    assert created.properties.provisioning_state == "Succeeded"
    got = client.online_endpoints.get(RG, WS, endpoint)
    props = got.properties
    assert (props.auth_mode, props.description, got.tags) == ("Key", "conformance", {"team": "ml"})
    assert props.scoring_uri == emulator.scoring_uri(endpoint)
    assert props.swagger_uri == f"{emulator.url}/online-endpoints/{endpoint}/swagger.json"
    assert props.traffic == {} and props.mirror_traffic == {}
    assert props.public_network_access == "Enabled"
    assert got.identity.type == "SystemAssigned" and got.identity.tenant_id and got.identity.principal_id
    assert props.properties["azureml.onlineendpointid"] == got.id.lower()
    assert got.system_data.created_at is not None
    assert endpoint in [e.name for e in client.online_endpoints.list(RG, WS)]


def test_keys_list_and_regenerate(client, endpoint):
    before = client.online_endpoints.list_keys(RG, WS, endpoint)
    assert isinstance(before, arm.EndpointAuthKeys)
    assert before.primary_key and before.secondary_key
    client.online_endpoints.begin_regenerate_keys(
        RG, WS, endpoint, arm.RegenerateEndpointKeysRequest(key_type="Secondary")
    ).result()
    after = client.online_endpoints.list_keys(RG, WS, endpoint)
    assert after.primary_key == before.primary_key
    assert after.secondary_key != before.secondary_key


def test_deployment_create_get_list_logs_skus(client, endpoint, registered_models):
    created = client.online_deployments.begin_create_or_update(
        RG, WS, endpoint, "blue", _deployment(f"azureml:{registered_models.heart}:1")
    ).result()
    assert isinstance(created, arm.OnlineDeployment)
    assert created.properties.provisioning_state == "Succeeded"
    got = client.online_deployments.get(RG, WS, endpoint, "blue")
    assert isinstance(got.properties, arm.ManagedOnlineDeployment)
    assert got.properties.endpoint_compute_type == "Managed"
    assert got.properties.instance_type == "Standard_DS3_v2"
    assert got.properties.request_settings.request_timeout == dt.timedelta(seconds=5)
    assert got.properties.readiness_probe.period == dt.timedelta(seconds=1)
    assert got.sku.capacity == 1
    assert [d.name for d in client.online_deployments.list(RG, WS, endpoint)] == ["blue"]
    logs = client.online_deployments.get_logs(
        RG, WS, endpoint, "blue", arm.DeploymentLogsRequest(container_type="InferenceServer", tail=50)
    )
    assert isinstance(logs, arm.DeploymentLogs) and logs.content
    (sku,) = list(client.online_deployments.list_skus(RG, WS, endpoint, "blue"))
    assert isinstance(sku, arm.SkuResource)
    assert sku.sku.name == "Default" and sku.capacity.minimum == 1 and sku.capacity.maximum >= 1


def test_endpoint_update_by_patch(client, endpoint):
    patched = client.online_endpoints.begin_update(
        RG,
        WS,
        endpoint,
        arm.PartialMinimalTrackedResourceWithIdentity(
            tags={"team": "ml", "stage": "live"},
            identity=arm.PartialManagedServiceIdentity(type="SystemAssigned"),
        ),
    ).result()
    assert isinstance(patched, arm.OnlineEndpoint)
    assert patched.tags == {"team": "ml", "stage": "live"}
    # The traffic shape azureml-mlflow sends (PartialOnlineEndpointPartialTrackedResource).
    body: dict[str, Any] = {"properties": {"traffic": {"blue": 100}}}
    routed = client.online_endpoints.begin_update(RG, WS, endpoint, body).result()
    assert routed.properties.traffic == {"blue": 100}
    assert client.online_endpoints.get(RG, WS, endpoint).properties.traffic == {"blue": 100}
    with pytest.raises(HttpResponseError) as refused:
        client.online_endpoints.begin_update(
            RG, WS, endpoint, {"properties": {"traffic": {"blue": 60, "ghost": 40}}}
        ).result()
    assert refused.value.status_code == 400
    assert refused.value.error.code == "BadArgument"


def test_deployment_update_by_patch(client, endpoint):
    tagged = client.online_deployments.begin_update(
        RG, WS, endpoint, "blue", arm.PartialMinimalTrackedResourceWithSku(tags={"color": "blue"})
    ).result()
    assert isinstance(tagged, arm.OnlineDeployment)
    assert tagged.tags == {"color": "blue"}
    scaled = client.online_deployments.begin_update(
        RG, WS, endpoint, "blue", arm.PartialMinimalTrackedResourceWithSku(sku=arm.PartialSku(capacity=2))
    ).result()
    assert scaled.sku.capacity == 2
    assert scaled.properties.provisioning_state == "Succeeded"
    assert scaled.tags == {"color": "blue"}


def test_token_of_an_aml_token_endpoint(client, unique_name):
    name = unique_name("armtoken")
    client.online_endpoints.begin_create_or_update(
        RG,
        WS,
        name,
        arm.OnlineEndpoint(location="local", properties=arm.OnlineEndpointProperties(auth_mode="AMLToken")),
    ).result()
    try:
        token = client.online_endpoints.get_token(RG, WS, name)
        assert isinstance(token, arm.EndpointAuthToken)
        assert token.access_token and token.token_type == "Bearer"
        assert token.expiry_time_utc > token.refresh_after_time_utc > 0
        with pytest.raises(HttpResponseError) as no_keys:
            client.online_endpoints.list_keys(RG, WS, name)
        assert no_keys.value.status_code == 400
    finally:
        client.online_endpoints.begin_delete(RG, WS, name).result()


def test_deletes(client, endpoint):
    with pytest.raises(HttpResponseError) as busy:
        client.online_deployments.begin_delete(RG, WS, endpoint, "blue").result()
    assert busy.value.status_code == 409  # it still takes live traffic
    client.online_endpoints.begin_update(RG, WS, endpoint, {"properties": {"traffic": {}}}).result()
    client.online_deployments.begin_delete(RG, WS, endpoint, "blue").result()
    with pytest.raises(ResourceNotFoundError):
        client.online_deployments.get(RG, WS, endpoint, "blue")
    client.online_endpoints.begin_delete(RG, WS, endpoint).result()
    with pytest.raises(ResourceNotFoundError):
        client.online_endpoints.get(RG, WS, endpoint)
    assert endpoint not in [e.name for e in client.online_endpoints.list(RG, WS)]
