"""The emulator's state held to the VM core quota, as Azure holds a subscription's deployments: a
deployment whose cores (20% of its instances reserved for upgrades) do not fit its family's limit
or the region's total beside the others' is refused with `OutOfQuota`, before anything changes."""

from __future__ import annotations

from collections.abc import Callable

from rollout.emulator.credentials import DEFAULT_TOKEN_TTL_SECONDS
from rollout.emulator.resources import Deployment
from rollout.emulator.state import EmulatorState
from rollout.emulator.store import Store
from rollout.emulator.vm_sizes import CoreLimits, check_core_quota


class QuotaState(EmulatorState):
    """EmulatorState whose deployments fit the core limits `limits()` gives (read at each change)."""

    def __init__(
        self,
        store: Store,
        *,
        limits: Callable[[], CoreLimits],
        token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS,
        instance_quota: int | None = None,
    ) -> None:
        super().__init__(store, token_ttl=token_ttl, instance_quota=instance_quota)
        self._limits = limits

    def put_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]:
        """Create or update a deployment within its family's core limit and the regional total (the
        one it replaces gives its cores back)."""
        endpoint, name = deployment.endpoint.lower(), deployment.name.lower()
        if self.has_endpoint(endpoint):
            others = [
                other
                for e in self.list_endpoints()
                for other in self.list_deployments(e.name)
                if (e.name.lower(), other.name.lower()) != (endpoint, name)
            ]
            check_core_quota(deployment, others, self._limits())
        return super().put_deployment(deployment)
