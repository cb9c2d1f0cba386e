"""Whether a deployment's cores fit its VM family's quota and the regional total in the workspace's
region.

Azure counts a managed online deployment's cores against its subscription's quota for the VM
family of its instance type and against the region's total of every family's dedicated cores
(the usage "Total Cluster Dedicated Regional vCPUs", of type `.../dedicatedCores/usages`; a
region that lists none is not checked against one), and reserves 20% of its instances for
upgrades, rounded up: n instances need ceil(1.2 n) instances' vCPUs of quota (10 instances of a
4-core size need 48 cores, 1 instance needs 2). The sizes and usages are read with azure-ai-ml's
`ml_client.compute.list_sizes()` (`.../locations/{location}/vmSizes`) and `list_usage()`
(`.../locations/{location}/usages`), at the subscription's scope; a caller without that read
gets a `QuotaUnknown`, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rollout.azureml.sdk import azure_message

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

# The regional total's usage: its `type` ends so (`Microsoft.MachineLearningServices/dedicatedCores/usages`).
REGIONAL_TYPE = "dedicatedcores/usages"
REGIONAL_NAME = "Total Cluster Dedicated Regional vCPUs"


def reserved_instances(instance_count: int) -> int:
    """The instances of quota `instance_count` instances hold: 20% more for upgrades, rounded up."""
    return instance_count + -(-instance_count // 5)


@dataclass(frozen=True)
class CoreNeed:
    """A deployment's size: its instance type, the type's family and vCPUs, and its instance count."""

    instance_type: str
    family: str
    vcpus: int
    instance_count: int

    @property
    def cores(self) -> int:
        """The cores of quota the deployment holds, the upgrade reserve included."""
        return reserved_instances(self.instance_count) * self.vcpus


@dataclass(frozen=True)
class CoreLimit:
    """One limit a deployment's cores count against, a VM family's or the regional total's: `used`
    cores held now of `limit` (negative: no limit), `released` of them held by the deployment it
    replaces."""

    name: str
    used: int
    limit: int
    released: int = 0
    regional: bool = False

    @property
    def used_by_others(self) -> int:
        return max(self.used - self.released, 0)

    @property
    def free(self) -> int:
        """The cores the deployment may take."""
        return self.limit - self.used_by_others

    def fits(self, cores: int) -> bool:
        return self.limit < 0 or cores <= self.free

    @property
    def label(self) -> str:
        """How a line names the limit: the family, or `regional total`."""
        return REGIONAL_LABEL if self.regional else self.name

    @property
    def increase(self) -> str:
        """What to request when the limit is short."""
        return (
            f"a regional quota increase ({self.name})"
            if self.regional
            else f"a quota increase for {self.name}"
        )

    def usage(self, *, free: bool = False) -> str:
        """`<used> used of <limit>`, and `, <n> free` when `free`."""
        return f"{self.used_by_others} used of {self.limit}" + (f", {max(self.free, 0)} free" if free else "")


REGIONAL_LABEL = "regional total"


@dataclass(frozen=True)
class Capacity:
    """A deployment to come against its family's quota and the regional total (None: the region
    lists none, so no regional check)."""

    need: CoreNeed
    family: CoreLimit
    regional: CoreLimit | None = None

    @property
    def short(self) -> CoreLimit | None:
        """The limit the deployment's cores do not fit (the family's first), None when both fit."""
        limits = (self.family, self.regional) if self.regional is not None else (self.family,)
        return next((limit for limit in limits if not limit.fits(self.need.cores)), None)

    @property
    def fits(self) -> bool:
        return self.short is None

    def needed(self, limit: CoreLimit, *, free: bool = False) -> str:
        """`<label>: <n> cores needed (...), <used> used of <limit>` (`free`: and `, <n> free`)."""
        need = self.need
        return (
            f"{limit.label}: {need.cores} cores needed ({need.instance_count} x {need.instance_type}, "
            f"{need.vcpus} vCPUs, with 20% of instances reserved for upgrades), {limit.usage(free=free)}"
        )

    def summary(self, *, free: bool = False) -> str:
        """The family's line, then the regional total's usage, in one line (`free`: with free cores)."""
        family = self.needed(self.family, free=free)
        if self.regional is None:
            return family
        return f"{family}; {REGIONAL_LABEL}: {self.regional.usage(free=free)}"


@dataclass(frozen=True)
class QuotaUnknown:
    """The quota could not be read; `reason` says why in one line."""

    reason: str


def read_capacity(
    ml: MLClient, instance_type: str, instance_count: int, replacing: tuple[str, int] | None = None
) -> Capacity | QuotaUnknown:
    """The quota of `instance_type`'s family and the regional total for `instance_count` instances,
    in the workspace's region; `replacing` is the instance type and count of the deployment it
    replaces (its cores come back)."""
    from azure.core.exceptions import AzureError

    try:
        with _activity_log_muted():
            # the workspace's region, read once (each of the calls below would read it again)
            location = str(ml.workspaces.get(ml.workspace_name).location)
            sizes = {str(_field(s, "name")).lower(): s for s in ml.compute.list_sizes(location=location)}
            size = sizes.get(instance_type.lower())
            if size is None:
                return QuotaUnknown(f"the region lists no VM size {instance_type}")
            usages = list(ml.compute.list_usage(location=location))
    except AzureError as error:
        return QuotaUnknown(" ".join(azure_message(error).split()))
    need = CoreNeed(instance_type, str(_field(size, "family")), _vcpus(size), instance_count)
    before = sizes.get(replacing[0].lower()) if replacing is not None else None
    if replacing is None or before is None:
        return capacity_of(need, usages)
    return capacity_of(
        need, usages, (str(_field(before, "family")), reserved_instances(replacing[1]) * _vcpus(before))
    )


def capacity_of(
    need: CoreNeed, usages: list[Any], replacing: tuple[str, int] | None = None
) -> Capacity | QuotaUnknown:
    """`need` against the region's `usages` (azure-ai-ml's Usage entities): its family's entry and
    the regional total's, if listed; `replacing` is the family and cores of the deployment it
    replaces (they come back to the regional total, and to the family if it is the same)."""
    usage = next((u for u in usages if _usage_name(u).lower() == need.family.lower()), None)
    if usage is None:
        return QuotaUnknown(f"the region's usages list no {need.family}")
    family, released = replacing if replacing is not None else ("", 0)
    regional = next((u for u in usages if str(getattr(u, "type", "")).lower().endswith(REGIONAL_TYPE)), None)
    return Capacity(
        need,
        _limit(usage, need.family, released if family.lower() == need.family.lower() else 0),
        _limit(regional, _usage_name(regional) or REGIONAL_NAME, released, regional=True)
        if regional
        else None,
    )


def _limit(usage: Any, name: str, released: int, *, regional: bool = False) -> CoreLimit:
    used = int(_field(usage, "current_value", "currentValue"))
    return CoreLimit(name, used, int(_field(usage, "limit")), released, regional)


@contextmanager
def _activity_log_muted() -> Iterator[None]:
    """azure-ai-ml logs a refused call as an ERROR activity, several lines on stderr; the caller
    gets one line (a QuotaUnknown's reason) instead."""
    logger = logging.getLogger("azure.ai.ml._telemetry")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _vcpus(size: Any) -> int:
    return int(_field(size, "vCPUs", "v_cp_us"))


def _field(entity: Any, *names: str) -> Any:
    """The first of `names` the SDK's entity carries (azure-ai-ml's Usage and VmSize take the REST
    model's `as_dict()`: `vCPUs`, `currentValue`)."""
    for name in names:
        value = getattr(entity, name, None)
        if value is not None:
            return value
    raise ValueError(f"{type(entity).__name__} has none of {names}")


def _usage_name(usage: Any) -> str:
    name = getattr(usage, "name", None)
    value = name.get("value") if isinstance(name, dict) else getattr(name, "value", None)
    return str(value or "")
