"""Whether a deployment's cores fit its VM family's quota in the workspace's region.

Azure counts a managed online deployment's cores against its subscription's quota for the VM
family of its instance type, and reserves 20% of its instances for upgrades, rounded up: n
instances need ceil(1.2 n) instances' vCPUs of quota (10 instances of a 4-core size need 48
cores, 1 instance needs 2). The sizes and usages are read with azure-ai-ml's
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
class Capacity:
    """A family's quota with a deployment to come: `used` cores held now of `limit` (negative: no
    limit), `released` of them held by the deployment it replaces."""

    need: CoreNeed
    used: int
    limit: int
    released: int = 0

    @property
    def used_by_others(self) -> int:
        return max(self.used - self.released, 0)

    @property
    def free(self) -> int:
        """The cores the deployment may take."""
        return self.limit - self.used_by_others

    @property
    def fits(self) -> bool:
        return self.limit < 0 or self.need.cores <= self.free

    def summary(self) -> str:
        """`<family>: <n> cores needed (...), <used> used of <limit>`, in one line."""
        need = self.need
        return (
            f"{need.family}: {need.cores} cores needed ({need.instance_count} x {need.instance_type}, "
            f"{need.vcpus} vCPUs, with 20% of instances reserved for upgrades), "
            f"{self.used_by_others} used of {self.limit}"
        )


@dataclass(frozen=True)
class QuotaUnknown:
    """The quota could not be read; `reason` says why in one line."""

    reason: str


def read_capacity(
    ml: MLClient, instance_type: str, instance_count: int, replacing: tuple[str, int] | None = None
) -> Capacity | QuotaUnknown:
    """The quota of `instance_type`'s family for `instance_count` instances, in the workspace's
    region; `replacing` is the instance type and count of the deployment it replaces (its cores
    come back)."""
    from azure.core.exceptions import AzureError

    try:
        with _activity_log_muted():
            # the workspace's region, read once (each of the calls below would read it again)
            location = str(ml.workspaces.get(ml.workspace_name).location)
            sizes = {str(_field(s, "name")).lower(): s for s in ml.compute.list_sizes(location=location)}
            size = sizes.get(instance_type.lower())
            if size is None:
                return QuotaUnknown(f"the region lists no VM size {instance_type}")
            family = str(_field(size, "family"))
            usages = list(ml.compute.list_usage(location=location))
    except AzureError as error:
        return QuotaUnknown(" ".join(azure_message(error).split()))
    usage = next((u for u in usages if _usage_name(u).lower() == family.lower()), None)
    if usage is None:
        return QuotaUnknown(f"the region's usages list no {family}")
    need = CoreNeed(instance_type, family, _vcpus(size), instance_count)
    released = 0
    before = sizes.get(replacing[0].lower()) if replacing is not None else None
    if (
        replacing is not None
        and before is not None
        and str(_field(before, "family")).lower() == family.lower()
    ):
        released = CoreNeed(replacing[0], family, _vcpus(before), replacing[1]).cores
    used = int(_field(usage, "current_value", "currentValue"))
    return Capacity(need, used, int(_field(usage, "limit")), released)


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
