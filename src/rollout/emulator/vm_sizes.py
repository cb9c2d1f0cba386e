"""The VM sizes the emulator's region offers to managed online deployments, and the cores of quota
they hold (rules, no HTTP).

As Azure's `locations/{location}/vmSizes` lists them (`name`, `family`, `vCPUs`, `memoryGB`); the
families are those its `usages` count cores in (`standardDSv2Family`, ...). Azure reserves 20% of
a deployment's instances for upgrades, rounded up: `instance_count` n holds ceil(1.2 n) instances
of quota, each of its size's vCPUs (10 instances of a 4-core size hold 48 cores). Every family's
cores also count against the region's total of dedicated cores ("Total Cluster Dedicated Regional
vCPUs"), which has a limit of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rollout.emulator.constants import SUBSCRIPTION_ID
from rollout.emulator.errors import OutOfQuota
from rollout.emulator.resources import Deployment, reserved_instances

DSV2 = "standardDSv2Family"
FSV2 = "standardFSv2Family"
ESV3 = "standardESv3Family"
FAMILY_NAMES = {
    DSV2: "Standard DSv2 Family vCPUs",
    FSV2: "Standard FSv2 Family vCPUs",
    ESV3: "Standard ESv3 Family vCPUs",
}
REGIONAL_NAME = "Total Cluster Dedicated Regional vCPUs"


@dataclass(frozen=True)
class CoreLimits:
    """The cores deployments may hold: per family (a family without one: no limit) and in all."""

    families: Mapping[str, int]
    regional: int


@dataclass(frozen=True)
class VmSize:
    """One VM size: its name, quota family, vCPUs and memory."""

    name: str
    family: str
    vcpus: int
    memory_gb: float


SIZES = (
    VmSize("Standard_DS1_v2", DSV2, 1, 3.5),
    VmSize("Standard_DS2_v2", DSV2, 2, 7.0),
    VmSize("Standard_DS3_v2", DSV2, 4, 14.0),
    VmSize("Standard_DS4_v2", DSV2, 8, 28.0),
    VmSize("Standard_DS5_v2", DSV2, 16, 56.0),
    VmSize("Standard_F2s_v2", FSV2, 2, 4.0),
    VmSize("Standard_F4s_v2", FSV2, 4, 8.0),
    VmSize("Standard_F8s_v2", FSV2, 8, 16.0),
    VmSize("Standard_F16s_v2", FSV2, 16, 32.0),
    VmSize("Standard_F32s_v2", FSV2, 32, 64.0),
    VmSize("Standard_F48s_v2", FSV2, 48, 96.0),
    VmSize("Standard_F64s_v2", FSV2, 64, 128.0),
    VmSize("Standard_F72s_v2", FSV2, 72, 144.0),
    VmSize("Standard_E2s_v3", ESV3, 2, 16.0),
    VmSize("Standard_E4s_v3", ESV3, 4, 32.0),
    VmSize("Standard_E8s_v3", ESV3, 8, 64.0),
    VmSize("Standard_E16s_v3", ESV3, 16, 128.0),
    VmSize("Standard_E32s_v3", ESV3, 32, 256.0),
    VmSize("Standard_E48s_v3", ESV3, 48, 384.0),
    VmSize("Standard_E64s_v3", ESV3, 64, 432.0),
)
_BY_NAME = {size.name.lower(): size for size in SIZES}


def size_of(instance_type: str) -> VmSize | None:
    """The size an instance type names (case-insensitive); None for a size the region does not offer."""
    return _BY_NAME.get(instance_type.lower())


def reserved_cores(deployment: Deployment) -> int:
    """The cores of quota a deployment holds: its reserved instances times its size's vCPUs (0 for
    a size the region does not offer)."""
    size = size_of(deployment.instance_type)
    return reserved_instances(deployment.instance_count) * size.vcpus if size else 0


def cores_in_use(deployments: Iterable[Deployment]) -> dict[str, int]:
    """The cores each family's deployments hold (a deployment being deleted gave its back)."""
    used = dict.fromkeys(FAMILY_NAMES, 0)
    for deployment in deployments:
        size = size_of(deployment.instance_type)
        if size is not None and deployment.provisioning_state != "Deleting":
            used[size.family] += reserved_cores(deployment)
    return used


def check_core_quota(deployment: Deployment, others: Iterable[Deployment], limits: CoreLimits) -> None:
    """The deployment's cores fit its family's limit and the regional total beside the `others'`
    (Azure's `OutOfQuota`, naming the limit that is short)."""
    size = size_of(deployment.instance_type)
    if size is None:
        return
    used = cores_in_use(others)
    needed = reserved_cores(deployment)
    quotas = (  # (cores held, limit, what they count, what to request), the family's first
        (used[size.family], limits.families.get(size.family, -1), size.family, "a quota increase"),
        (sum(used.values()), limits.regional, "regional", f"a regional quota increase ({REGIONAL_NAME})"),
    )
    for held, limit, counted, increase in quotas:
        if 0 <= limit < held + needed:
            raise OutOfQuota(
                f"Not enough quota available for {deployment.instance_type} in SubscriptionId "
                f"{SUBSCRIPTION_ID}. Current usage/limit: {held}/{limit} {counted} cores. Additional needed: "
                f"{needed} (instance_count {deployment.instance_count} x {size.vcpus} vCPUs and 20% reserved "
                f"for upgrades). Delete unused deployments, lower instance_count or request {increase}."
            )
