"""The quota arithmetic: Azure's 20% upgrade reserve rounded up, cores per family and in the
regional total, the cores a replaced deployment gives back, the limit that is short."""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import Usage, UsageName

from rollout.azureml.vm_quota import (
    REGIONAL_NAME,
    Capacity,
    CoreLimit,
    CoreNeed,
    QuotaUnknown,
    capacity_of,
    reserved_instances,
)

DSV2 = "standardDSv2Family"
NEED = CoreNeed("Standard_DS3_v2", DSV2, 4, 1)  # 2 instances held: 8 cores


@pytest.mark.parametrize(("count", "held"), [(1, 2), (4, 5), (5, 6), (6, 8), (10, 12), (11, 14), (50, 60)])
def test_the_reserve_is_a_fifth_of_the_instances_rounded_up(count: int, held: int) -> None:
    assert reserved_instances(count) == held


def test_ten_instances_of_a_four_core_size_need_48_cores() -> None:  # Azure's own example
    assert CoreNeed("Standard_DS3_v2", DSV2, 4, 10).cores == 48


def test_a_capacity_fits_its_free_cores_exactly() -> None:
    assert Capacity(NEED, CoreLimit(DSV2, used=8, limit=16)).fits
    short = Capacity(NEED, CoreLimit(DSV2, used=12, limit=16))
    assert not short.fits and short.short == short.family and short.family.free == 4
    assert short.summary() == (
        "standardDSv2Family: 8 cores needed (1 x Standard_DS3_v2, 4 vCPUs, with 20% of instances "
        "reserved for upgrades), 12 used of 16"
    )
    assert Capacity(NEED, CoreLimit(DSV2, used=12, limit=16, released=8)).fits  # the slot's old one: 8 back
    assert Capacity(NEED, CoreLimit(DSV2, used=500, limit=-1)).fits  # no limit


def _usage(kind: str, name: str, used: int, limit: int) -> Usage:
    return Usage(
        type=f"Microsoft.MachineLearningServices/{kind}/usages",
        unit="Count",
        current_value=used,
        limit=limit,
        name=UsageName(value=name, localized_value=name),
    )


FAMILY = _usage("vmFamily", DSV2, 8, 1000)
REGIONAL = _usage("dedicatedCores", REGIONAL_NAME, 20, 24)  # room for 4 more cores in all


def test_the_regional_total_is_short_while_the_family_has_room() -> None:
    capacity = capacity_of(NEED, [REGIONAL, FAMILY, _usage("lowPriorityCores", "low", 0, 0)])
    assert isinstance(capacity, Capacity) and capacity.regional is not None
    assert not capacity.fits and capacity.short == capacity.regional and capacity.family.fits(8)
    assert capacity.short.label == "regional total" and capacity.short.free == 4
    assert capacity.short.increase == f"a regional quota increase ({REGIONAL_NAME})"
    assert capacity.summary(free=True).endswith(
        "8 used of 1000, 992 free; regional total: 20 used of 24, 4 free"
    )


def test_a_replaced_deployment_gives_its_cores_back_to_the_regional_total() -> None:
    same = capacity_of(NEED, [FAMILY, REGIONAL], (DSV2, 8))  # the slot's deployment of the same size
    assert isinstance(same, Capacity) and same.fits
    assert (same.family.used_by_others, same.regional and same.regional.used_by_others) == (0, 12)
    other = capacity_of(NEED, [FAMILY, REGIONAL], ("standardFSv2Family", 8))  # of another family
    assert isinstance(other, Capacity) and other.fits and other.family.released == 0


def test_no_regional_entry_means_no_regional_check() -> None:
    capacity = capacity_of(CoreNeed("Standard_DS3_v2", DSV2, 4, 50), [FAMILY])  # 240 cores
    assert isinstance(capacity, Capacity) and capacity.regional is None and capacity.fits
    assert capacity.summary().endswith("8 used of 1000")
    missing = capacity_of(NEED, [REGIONAL])
    assert (
        isinstance(missing, QuotaUnknown)
        and missing.reason == "the region's usages list no standardDSv2Family"
    )
