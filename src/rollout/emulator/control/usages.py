"""ARM's VM sizes and core usages of the workspace's region, as azure-ai-ml's
`ml_client.compute.list_sizes()` and `list_usage()` read them:

- `GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/locations/{location}/vmSizes`:
  `{"value": [{"name", "family", "vCPUs", "gpus", "memoryGB", ..., "supportedComputeTypes"}]}`;
- `GET .../locations/{location}/usages`: one entry per VM family, `{"id", "amlWorkspaceLocation",
  "type", "unit": "Count", "currentValue", "limit", "name": {"value": "standardDSv2Family",
  "localizedValue"}}`, the current value being the cores the family's deployments hold (20% of
  their instances reserved for upgrades, as Azure counts them), then the region's total of every
  family's cores, as Azure's example lists it: `{"id": "/subscriptions/{s}/usages", "type":
  ".../dedicatedCores/usages", "name": {"value": "Total Cluster Dedicated Regional vCPUs", ...}}`.

Both are at the subscription's scope: a role assigned on the resource group does not reach them
(403 `AuthorizationFailed`, as on Azure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rollout.emulator import core_quota
from rollout.emulator.control.guard import Guard
from rollout.emulator.control.workspace import OPERATIONS_PATH, PROVIDER, Workspace
from rollout.emulator.errors import NotFound
from rollout.emulator.state import EmulatorState
from rollout.emulator.vm_sizes import FAMILY_NAMES, REGIONAL_NAME, SIZES, VmSize, cores_in_use


class UsagesApi:
    """The region's VM sizes and core usages, from the emulator's deployments and quota file."""

    def __init__(self, state: EmulatorState, workspace: Workspace, state_dir: Path) -> None:
        self._state = state
        self._workspace = workspace
        self._state_dir = state_dir

    async def list_vm_sizes(self, request: Request) -> Response:
        """The VM sizes a managed online deployment may use in the region."""
        self._check_location(request)
        return JSONResponse({"value": [_size(size) for size in SIZES]})

    async def list_usages(self, request: Request) -> Response:
        """The region's total of dedicated cores, then each VM family's: cores in use and limit."""
        self._check_location(request)
        deployments = [
            deployment
            for endpoint in self._state.list_endpoints()
            for deployment in self._state.list_deployments(endpoint.name)
        ]
        used = cores_in_use(deployments)
        limits = core_quota.limits(self._state_dir)
        subscription = self._workspace.subscription
        regional = self._usage(
            f"/subscriptions/{subscription}/usages",
            "dedicatedCores",
            (sum(used.values()), limits.regional),
            (REGIONAL_NAME, REGIONAL_NAME),
        )
        families = [
            self._usage(
                f"/subscriptions/{subscription}/providers/{PROVIDER}/vmFamily/{family}/usages",
                "vmFamily",
                (used[family], limits.families[family]),
                (family, localized),
            )
            for family, localized in FAMILY_NAMES.items()
        ]
        return JSONResponse({"value": [regional, *families]})

    def _usage(
        self, usage_id: str, kind: str, counts: tuple[int, int], name: tuple[str, str]
    ) -> dict[str, Any]:
        """One entry of the usages list: `counts` the current value and the limit, `name` its value
        and localized value."""
        return {
            "id": usage_id,
            "amlWorkspaceLocation": self._workspace.location,
            "type": f"{PROVIDER}/{kind}/usages",
            "unit": "Count",
            "currentValue": counts[0],
            "limit": counts[1],
            "name": {"value": name[0], "localizedValue": name[1]},
        }

    def _check_location(self, request: Request) -> None:
        location = request.path_params["location"]
        if location.lower() != self._workspace.location.lower():
            raise NotFound(f"The emulator serves location '{self._workspace.location}', not '{location}'.")


def _size(size: VmSize) -> dict[str, Any]:
    return {
        "name": size.name,
        "family": size.family,
        "vCPUs": size.vcpus,
        "gpus": 0,
        "memoryGB": size.memory_gb,
        "lowPriorityCapable": True,
        "premiumIO": True,
        "supportedComputeTypes": ["AmlCompute", "ComputeInstance", "MIR"],
    }


def routes(api: UsagesApi, guard: Guard) -> list[Route]:
    """The region's vmSizes and usages, each guarded by its Azure action
    (`Microsoft.MachineLearningServices/locations/vmSizes/read`, `.../locations/usages/read`)."""
    return guard.routes(
        [
            ("GET", OPERATIONS_PATH + "/vmSizes", api.list_vm_sizes),
            ("GET", OPERATIONS_PATH + "/usages", api.list_usages),
        ]
    )
