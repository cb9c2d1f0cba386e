"""The emulator's VM sizes and core quota: its deployments' cores counted by family (with Azure's
upgrade reserve), and the limits `rollout emulator quota` sets per family."""

from __future__ import annotations

import pytest

from rollout.emulator import core_quota
from rollout.emulator.resources import Deployment
from rollout.emulator.vm_sizes import cores_in_use, size_of


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


def test_the_emulators_limits_are_set_per_family(tmp_path) -> None:
    assert core_quota.limits(tmp_path)["standardFSv2Family"] == core_quota.DEFAULT_FAMILY_LIMIT
    limits = core_quota.set_limits(tmp_path, {"standardfsv2family": 8})
    assert (
        limits["standardFSv2Family"] == 8 and limits["standardDSv2Family"] == core_quota.DEFAULT_FAMILY_LIMIT
    )
    assert core_quota.set_limits(tmp_path, {"standardFSv2Family": None})["standardFSv2Family"] == 1000
    with pytest.raises(ValueError, match="no VM family 'standardNCFamily'"):
        core_quota.set_limits(tmp_path, {"standardNCFamily": 8})
