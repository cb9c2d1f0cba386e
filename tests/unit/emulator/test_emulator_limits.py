"""Azure's endpoint limits and the instance quota in `EmulatorState`, checked without HTTP.

The numbers are Azure's documented defaults for managed online endpoints ("Manage and increase
quotas and limits for resources with Azure Machine Learning", managed online endpoints table):
100 endpoints and 500 deployments per subscription and region, 20 deployments per endpoint, 50
instances per deployment, and 20% extra instances reserved for upgrades (10 instances need quota
for 12). The SDK-level checks are in tests/emulator/control/test_control_limits.py.
"""

from __future__ import annotations

import pytest

from rollout.emulator import resources
from rollout.emulator.errors import BadArgument, OutOfQuota
from rollout.emulator.resources import Deployment, EndpointSettings, reserved_instances
from rollout.emulator.state import EmulatorState
from rollout.emulator.store import Store


def _deployment(endpoint: str, name: str, instance_count: int = 1) -> Deployment:
    return Deployment(
        endpoint=endpoint,
        name=name,
        model="azureml:m:1",
        model_uri="models:/m/1",
        instance_count=instance_count,
    )


def test_the_limits_are_azures_documented_defaults():
    assert resources.MAX_ENDPOINTS_PER_SUBSCRIPTION == 100
    assert resources.MAX_DEPLOYMENTS_PER_SUBSCRIPTION == 500
    assert resources.MAX_DEPLOYMENTS_PER_ENDPOINT == 20
    assert resources.MAX_INSTANCE_COUNT == 50
    assert OutOfQuota.code == "OutOfQuota" and OutOfQuota.status == 400


@pytest.mark.parametrize(("count", "reserved"), [(1, 2), (4, 5), (5, 6), (6, 8), (10, 12), (50, 60)])
def test_a_deployment_reserves_twenty_percent_more_instances(count, reserved):
    assert reserved_instances(count) == reserved


def test_the_101st_endpoint_is_out_of_quota_until_one_is_deleted():
    state = EmulatorState()
    for index in range(100):
        state.put_endpoint(f"ep-{index:03d}")
    with pytest.raises(OutOfQuota, match=r"already has 100 online endpoints in local; the limit is 100\."):
        state.put_endpoint("ep-100")
    state.put_endpoint(
        "ep-000", EndpointSettings(description="an update of an existing endpoint, no new one")
    )
    state.remove_endpoint("ep-042")
    state.put_endpoint("ep-100")


def test_the_501st_deployment_of_the_subscription_is_out_of_quota():
    state = EmulatorState()
    for endpoint in range(25):
        state.put_endpoint(f"ep-{endpoint:02d}")
        for index in range(20):
            state.put_deployment(_deployment(f"ep-{endpoint:02d}", f"d-{index:02d}"))
    state.put_endpoint("ep-25")
    with pytest.raises(OutOfQuota, match=r"already has 500 online deployments in local; the limit is 500\."):
        state.put_deployment(_deployment("ep-25", "d-00"))
    state.put_deployment(_deployment("ep-00", "d-00", instance_count=2))  # an update is no new deployment


def test_the_21st_deployment_of_an_endpoint_is_out_of_quota():
    state = EmulatorState()
    state.put_endpoint("full")
    for index in range(20):
        state.put_deployment(_deployment("full", f"d-{index:02d}"))
    with pytest.raises(OutOfQuota, match="Endpoint 'full' already has 20 deployments; the limit is 20 per"):
        state.put_deployment(_deployment("full", "d-20"))


def test_instance_count_per_deployment():
    state = EmulatorState()
    state.put_endpoint("sized")
    state.put_deployment(_deployment("sized", "largest", instance_count=50))
    with pytest.raises(OutOfQuota, match="is 51; the limit is 50 instances per deployment"):
        state.put_deployment(_deployment("sized", "too-large", instance_count=51))
    with pytest.raises(BadArgument, match="is 0; it must be at least 1"):
        state.put_deployment(_deployment("sized", "empty", instance_count=0))


def test_the_instance_quota_counts_reserved_instances_of_every_deployment(tmp_path):
    state = EmulatorState(Store(tmp_path / "state"), instance_quota=6)
    state.put_endpoint("one")
    state.put_endpoint("two")
    state.put_deployment(_deployment("one", "blue", instance_count=1))  # reserves 2
    state.put_deployment(_deployment("two", "blue", instance_count=2))  # reserves 3: 5 of 6
    with pytest.raises(OutOfQuota) as refused:
        state.put_deployment(_deployment("one", "green", instance_count=1))
    assert refused.value.message.startswith(
        "Not enough quota available for Standard_DS3_v2 in SubscriptionId "
        "00000000-0000-0000-0000-000000000000. "
        "Current usage/limit: 5/6 instances. Additional needed: 2 (instance_count 1 and 20% reserved for "
        "upgrades)."
    )
    # Scaling counts the deployment's new size only, not its old one as well.
    state.put_deployment(_deployment("two", "blue", instance_count=3))  # reserves 4: 6 of 6
    with pytest.raises(OutOfQuota, match=r"Current usage/limit: 2/6 instances\. Additional needed: 5"):
        state.put_deployment(_deployment("two", "blue", instance_count=4))
    # A deployment being deleted gives its quota back; so does a restart, from what the store kept.
    state.begin_delete_deployment("two", "blue")
    state.put_deployment(_deployment("one", "green", instance_count=1))
    restored = EmulatorState(Store(tmp_path / "state"), instance_quota=6)
    with pytest.raises(OutOfQuota, match="Current usage/limit: 4/6 instances"):
        restored.put_deployment(_deployment("one", "red", instance_count=2))


def test_no_instance_quota_by_default():
    state = EmulatorState()
    for endpoint in range(3):
        state.put_endpoint(f"ep-{endpoint}")
        for index in range(20):
            state.put_deployment(_deployment(f"ep-{endpoint}", f"d-{index:02d}", instance_count=50))
