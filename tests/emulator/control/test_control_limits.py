"""Azure's endpoint limits through the real azure-ai-ml MLClient: refused at once with `OutOfQuota`.

Filling a limit goes through plain ARM PUTs (deployments of a model that does not exist fail fast
and start no instance, yet count, as on Azure); the request over the limit goes through the SDK.
The endpoint limit and the instance quota are checked on an emulator of their own (the session's
is shared with other tests), started with a small $ROLLOUT_EMULATOR_INSTANCE_QUOTA.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, ProbeSettings
from azure.core.exceptions import HttpResponseError

from emulator_support import EmulatorHandle, start_emulator
from rollout.emulator.host import process
from rollout.emulator.host.config import INSTANCE_QUOTA_ENV


def _deployment(endpoint: str, name: str, model: str, instance_count: int = 1) -> ManagedOnlineDeployment:
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        instance_type="Standard_DS3_v2",
        instance_count=instance_count,
        readiness_probe=ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=30),
    )


def _rest_body(model: str = "azureml:missing:1") -> dict:
    return {
        "location": "local",
        "sku": {"name": "Default", "capacity": 1},
        "properties": {"endpointComputeType": "Managed", "model": model, "instanceType": "Standard_DS3_v2"},
    }


def _out_of_quota(raised: pytest.ExceptionInfo[HttpResponseError]) -> str:
    """The message of Azure's OutOfQuota error as the SDK surfaces it (HTTP 400, code OutOfQuota)."""
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "OutOfQuota"
    return str(raised.value.error.message)


def test_the_21st_deployment_of_an_endpoint(emulator, ml_client, registered_models, endpoint):
    with emulator.arm() as arm:
        for index in range(20):
            put = arm.put(emulator.deployment_path(endpoint, f"d{index:02d}"), json=_rest_body())
            assert put.status_code == 201, put.text
    model = f"azureml:{registered_models.heart}:1"
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(_deployment(endpoint, "d20", model))
    assert _out_of_quota(raised) == (
        f"Endpoint '{endpoint}' already has 20 deployments; the limit is 20 per endpoint. "
        "Delete unused deployments or request an endpoint limit increase."
    )
    assert len(list(ml_client.online_deployments.list(endpoint))) == 20


def test_more_instances_than_a_deployment_may_have(ml_client, registered_models, endpoint):
    model = f"azureml:{registered_models.heart}:1"
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(_deployment(endpoint, "huge", model, 51))
    assert _out_of_quota(raised) == (
        "instance_count of deployment 'huge' is 51; the limit is 50 instances per deployment. "
        "Request an endpoint limit increase."
    )
    assert list(ml_client.online_deployments.list(endpoint)) == []


@pytest.fixture(scope="module")
def quota_emulator(tmp_path_factory, emulator_registry) -> Iterator[EmulatorHandle]:
    """An emulator of its own whose deployments may reserve 4 instances in all."""
    state_dir = tmp_path_factory.mktemp("quota-emulator")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INSTANCE_QUOTA_ENV, "4")
        handle = start_emulator(state_dir, emulator_registry.uri)
    try:
        yield handle
    finally:
        process.stop(state_dir)


def test_the_instance_quota(quota_emulator, registered_models):
    ml = quota_emulator.ml_client()
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="quota")).result()
    with quota_emulator.arm() as arm:  # 1 instance reserves 2 of the 4, whether it starts or not
        put = arm.put(quota_emulator.deployment_path("quota", "blue"), json=_rest_body())
        assert put.status_code == 201, put.text
    model = f"azureml:{registered_models.heart}:1"
    with pytest.raises(HttpResponseError) as raised:
        ml.online_deployments.begin_create_or_update(_deployment("quota", "green", model, instance_count=2))
    assert _out_of_quota(raised) == (
        "Not enough quota available for Standard_DS3_v2 in SubscriptionId "
        "00000000-0000-0000-0000-000000000000. "
        "Current usage/limit: 2/4 instances. Additional needed: 3 (instance_count 2 and 20% reserved for "
        "upgrades). Delete unused deployments, lower instance_count or request a quota increase."
    )
    assert [d.name for d in ml.online_deployments.list("quota")] == ["blue"]

    ml.online_deployments.begin_create_or_update(_deployment("quota", "green", model))  # 2 + 2 of 4
    assert ml.online_deployments.get("green", "quota").instance_count == 1
    blue = ml.online_deployments.get("blue", "quota")
    blue.instance_count = 2
    with pytest.raises(HttpResponseError) as scaled:
        ml.online_deployments.begin_create_or_update(blue)
    assert "Current usage/limit: 2/4 instances. Additional needed: 3" in _out_of_quota(scaled)
    assert ml.online_deployments.get("blue", "quota").instance_count == 1


# Last in this module: it leaves the emulator at its endpoint limit.
def test_the_101st_endpoint(quota_emulator):
    ml = quota_emulator.ml_client()
    existing = len(list(ml.online_endpoints.list()))  # other tests' endpoints count too
    with quota_emulator.arm() as arm:
        for index in range(existing, 100):
            put = arm.put(quota_emulator.endpoint_path(f"ep-{index:03d}"), json={"location": "local"})
            assert put.status_code == 201, put.text
    with pytest.raises(HttpResponseError) as raised:
        ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep-100"))
    assert _out_of_quota(raised) == (
        "Subscription 00000000-0000-0000-0000-000000000000 already has 100 online endpoints in local; "
        "the limit is 100. Delete unused endpoints or request an endpoint limit increase."
    )
    ml.online_endpoints.begin_delete("ep-099").result()
    created = ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep-100")).result()
    assert created.provisioning_state == "Succeeded"
