"""The quota arithmetic: Azure's 20% upgrade reserve rounded up, cores per family, the cores a
replaced deployment gives back."""

from __future__ import annotations

import pytest

from rollout.azureml.vm_quota import Capacity, CoreNeed, reserved_instances


@pytest.mark.parametrize(("count", "held"), [(1, 2), (4, 5), (5, 6), (6, 8), (10, 12), (11, 14), (50, 60)])
def test_the_reserve_is_a_fifth_of_the_instances_rounded_up(count: int, held: int) -> None:
    assert reserved_instances(count) == held


def test_ten_instances_of_a_four_core_size_need_48_cores() -> None:  # Azure's own example
    assert CoreNeed("Standard_DS3_v2", "standardDSv2Family", 4, 10).cores == 48


def test_a_capacity_fits_its_free_cores_exactly() -> None:
    need = CoreNeed("Standard_DS3_v2", "standardDSv2Family", 4, 1)  # 8 cores
    assert Capacity(need, used=8, limit=16).fits
    short = Capacity(need, used=12, limit=16)
    assert not short.fits and short.free == 4
    assert short.summary() == (
        "standardDSv2Family: 8 cores needed (1 x Standard_DS3_v2, 4 vCPUs, with 20% of instances "
        "reserved for upgrades), 12 used of 16"
    )
    assert Capacity(need, used=12, limit=16, released=8).fits  # the slot's old deployment gives 8 back
    assert Capacity(need, used=500, limit=-1).fits  # no limit
