"""The emulator's VM sizes and core quota: its deployments' cores counted by family (with Azure's
upgrade reserve), the limits `rollout emulator quota` sets per family and for the regional total,
and a deployment over its family's limit or the regional total refused with Azure's `OutOfQuota`."""

from __future__ import annotations

import pytest

from rollout.emulator import core_quota
from rollout.emulator.errors import OutOfQuota
from rollout.emulator.quota_state import QuotaState
from rollout.emulator.resources import Deployment
from rollout.emulator.store import Store
from rollout.emulator.vm_sizes import CoreLimits, cores_in_use, size_of


def _deployment(instance_type: str, count: int, state: str = "Succeeded") -> Deployment:
    return Deployment(
        endpoint="e",
        name=instance_type.lower(),
        model="",
        model_uri="",
        instance_type=instance_type,
        instance_count=count,
        provisioning_state=state,
    )


def test_the_emulator_counts_cores_by_family_and_skips_what_is_being_deleted() -> None:
    assert size_of("standard_f4s_v2") is not None and size_of("Standard_X1") is None
    deployments = [
        _deployment("Standard_DS3_v2", 10),
        _deployment("Standard_F4s_v2", 1),
        _deployment("Standard_E2s_v3", 2),
        _deployment("Standard_DS2_v2", 1, "Deleting"),
        _deployment("Standard_X1", 1),
    ]
    assert cores_in_use(deployments) == {
        "standardDSv2Family": 48,
        "standardFSv2Family": 8,
        "standardESv3Family": 6,
    }


def test_the_emulators_limits_are_set_per_family_and_for_the_region(tmp_path) -> None:
    assert core_quota.limits(tmp_path).families["standardFSv2Family"] == core_quota.DEFAULT_FAMILY_LIMIT
    assert core_quota.limits(tmp_path).regional == core_quota.DEFAULT_REGIONAL_LIMIT == 3000
    limits = core_quota.set_limits(tmp_path, {"standardfsv2family": 8, "Regional": 24})
    assert limits.families["standardFSv2Family"] == 8 and limits.regional == 24
    assert limits.families["standardDSv2Family"] == core_quota.DEFAULT_FAMILY_LIMIT
    back = core_quota.set_limits(tmp_path, {"standardFSv2Family": None, "regional": None})
    assert (back.families["standardFSv2Family"], back.regional) == (1000, 3000)
    with pytest.raises(ValueError, match="no VM family 'standardNCFamily'"):
        core_quota.set_limits(tmp_path, {"standardNCFamily": 8})


def test_a_deployment_over_its_familys_core_limit_is_refused(tmp_path) -> None:
    families = {"standardDSv2Family": 16, "standardFSv2Family": 8, "standardESv3Family": 1000}
    state = QuotaState(Store(tmp_path / "state"), limits=lambda: CoreLimits(families, 3000))
    state.put_endpoint("one")
    state.put_deployment(_endpoint_deployment("blue", "Standard_DS3_v2", 1))  # 2 instances: 8 cores
    state.put_deployment(_endpoint_deployment("blue", "Standard_DS3_v2", 1))  # replaced, not added
    with pytest.raises(OutOfQuota) as refused:
        state.put_deployment(_endpoint_deployment("green", "Standard_DS3_v2", 2))  # 3 instances: 12
    assert refused.value.message.startswith(
        "Not enough quota available for Standard_DS3_v2 in SubscriptionId "
        "00000000-0000-0000-0000-000000000000. Current usage/limit: 8/16 standardDSv2Family cores. "
        "Additional needed: 12 (instance_count 2 x 4 vCPUs"
    )
    assert [d.name for d in state.list_deployments("one")] == ["blue"]
    state.put_deployment(_endpoint_deployment("green", "Standard_F4s_v2", 1))  # another family: 8 of 8
    families["standardDSv2Family"] = 20  # read at each change
    state.put_deployment(_endpoint_deployment("red", "Standard_DS3_v2", 2))


def test_a_deployment_over_the_regional_total_is_refused_while_its_family_has_room(tmp_path) -> None:
    families = {"standardDSv2Family": 1000, "standardFSv2Family": 1000, "standardESv3Family": 1000}
    state = QuotaState(Store(tmp_path / "state"), limits=lambda: CoreLimits(families, 16))
    state.put_endpoint("one")
    state.put_deployment(_endpoint_deployment("blue", "Standard_F4s_v2", 1))  # 8 cores of FSv2
    state.put_deployment(_endpoint_deployment("green", "Standard_DS2_v2", 2))  # 3 x 2 of DSv2: 14 of 16
    with pytest.raises(OutOfQuota) as refused:
        state.put_deployment(_endpoint_deployment("red", "Standard_E2s_v3", 1))  # 4 cores of ESv3
    assert refused.value.message.startswith(
        "Not enough quota available for Standard_E2s_v3 in SubscriptionId "
        "00000000-0000-0000-0000-000000000000. Current usage/limit: 14/16 regional cores. "
        "Additional needed: 4 (instance_count 1 x 2 vCPUs"
    )
    assert refused.value.message.endswith(
        "request a regional quota increase (Total Cluster Dedicated Regional vCPUs)."
    )
    assert [d.name for d in state.list_deployments("one")] == ["blue", "green"]
    state.put_deployment(_endpoint_deployment("green", "Standard_DS2_v2", 1))  # scaled: 2 of its 6 back
    state.put_deployment(_endpoint_deployment("red", "Standard_E2s_v3", 1))  # 16 of 16


def _endpoint_deployment(name: str, instance_type: str, count: int) -> Deployment:
    return Deployment(
        endpoint="one",
        name=name,
        model="azureml:m:1",
        model_uri="models:/m/1",
        instance_type=instance_type,
        instance_count=count,
    )
