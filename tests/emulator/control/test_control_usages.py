"""The region's VM sizes and core usages through azure-ai-ml's `ml_client.compute.list_sizes()`
and `list_usage()` (ARM's `locations/{location}/vmSizes` and `usages`): a deployment's cores with
the upgrade reserve counted in its family and in the regional total, the limits `rollout emulator
quota` sets (a deployment over them refused with `OutOfQuota`), and a 403 for a role assigned on
the resource group, as on Azure."""

from __future__ import annotations

import uuid
from pathlib import Path

import jsonschema
import pytest
from azure.ai.ml.entities import Usage
from azure.core.exceptions import HttpResponseError

from arm_schemas import USAGE, VM_SIZE, paginated
from rollout.azureml.vm_quota import Capacity, QuotaUnknown, read_capacity
from rollout.emulator.constants import SUBSCRIPTION_ID
from rollout.emulator.core_quota import DEFAULT_FAMILY_LIMIT, DEFAULT_REGIONAL_LIMIT
from rollout.emulator.host.identity_grant import RoleGrant, grant

ROLES = Path(__file__).resolve().parents[3] / ".github" / "roles"
DSV2 = "standardDSv2Family"


def _usage(ml_client, family: str) -> Usage:
    return next(u for u in ml_client.compute.list_usage() if u.name["value"] == family)


def _deployment_body(instance_count: int) -> dict:
    return {  # a model that does not exist: the deployment fails at once, starts nothing, yet counts
        "location": "local",
        "sku": {"name": "Default", "capacity": instance_count},
        "properties": {
            "endpointComputeType": "Managed",
            "model": "azureml:missing:1",
            "instanceType": "Standard_DS3_v2",
        },
    }


def test_sizes_and_usages_in_arms_shapes(emulator, ml_client, endpoint, lab):
    sizes = {size.name: size for size in ml_client.compute.list_sizes()}
    assert sizes["Standard_DS3_v2"].family == DSV2 and sizes["Standard_DS3_v2"].vCPUs == 4
    assert sizes["Standard_F4s_v2"].family == "standardFSv2Family"
    assert sizes["Standard_E4s_v3"].family == "standardESv3Family"
    before = _usage(ml_client, DSV2)
    assert (before.unit, before.limit, before.type) == (
        "Count",
        DEFAULT_FAMILY_LIMIT,
        "Microsoft.MachineLearningServices/vmFamily/usages",
    )
    assert before.amlWorkspaceLocation == "local"  # azure-ai-ml's Usage takes the REST model's keys
    with emulator.arm() as arm:  # 10 instances of a 4-core size hold 12 instances: 48 cores
        put = arm.put(emulator.deployment_path(endpoint, "ten"), json=_deployment_body(10))
        assert put.status_code == 201, put.text
    assert _usage(ml_client, DSV2).currentValue == before.currentValue + 48

    state_dir = str(emulator.state_dir)
    assert lab.in_process("emulator", "quota", f"{DSV2}=50", "--state-dir", state_dir).returncode == 0
    try:
        assert _usage(ml_client, DSV2).limit == 50
        capacity = read_capacity(ml_client, "Standard_DS3_v2", 1)
        assert isinstance(capacity, Capacity) and capacity.need.cores == 8
        assert capacity.family.used == before.currentValue + 48
        with emulator.arm() as arm:  # and the emulator refuses what does not fit, as Azure does
            over = arm.put(emulator.deployment_path(endpoint, "one"), json=_deployment_body(1))
        assert (over.status_code, over.json()["error"]["code"]) == (400, "OutOfQuota")
        assert "standardDSv2Family cores. Additional needed: 8" in over.json()["error"]["message"]
    finally:
        lab.in_process("emulator", "quota", f"{DSV2}=default", "--state-dir", state_dir)
    assert _usage(ml_client, DSV2).limit == DEFAULT_FAMILY_LIMIT


def _regional(ml_client) -> Usage:
    return next(u for u in ml_client.compute.list_usage() if u.type.endswith("/dedicatedCores/usages"))


def test_the_regional_total_counts_every_family_and_refuses_what_does_not_fit(
    emulator, ml_client, endpoint, lab
):
    usages = list(ml_client.compute.list_usage())
    regional = _regional(ml_client)
    assert (regional.id, regional.type, regional.unit, regional.limit) == (
        f"/subscriptions/{SUBSCRIPTION_ID}/usages",
        "Microsoft.MachineLearningServices/dedicatedCores/usages",
        "Count",
        DEFAULT_REGIONAL_LIMIT,
    )
    assert regional.name == {
        "value": "Total Cluster Dedicated Regional vCPUs",
        "localizedValue": "Total Cluster Dedicated Regional vCPUs",
    }
    families = [u for u in usages if u.type.endswith("/vmFamily/usages")]
    assert regional.currentValue == sum(u.currentValue for u in families)
    with emulator.arm() as arm:  # 2 instances of a 4-core size: 8 more cores, in the region too
        put = arm.put(emulator.deployment_path(endpoint, "eight"), json=_deployment_body(1))
        assert put.status_code == 201, put.text
    assert _regional(ml_client).currentValue == regional.currentValue + 8

    state_dir = str(emulator.state_dir)
    room = regional.currentValue + 8 + 4  # 4 cores left in the region, hundreds in DSv2
    listed = lab.in_process("emulator", "quota", f"regional={room}", "--state-dir", state_dir)
    assert listed.returncode == 0 and listed.stdout.endswith(f"regional: {room} cores (all families)\n")
    assert f"standardDSv2Family: {DEFAULT_FAMILY_LIMIT} cores\n" in listed.stdout
    try:
        capacity = read_capacity(ml_client, "Standard_DS3_v2", 1)
        assert isinstance(capacity, Capacity) and capacity.regional is not None
        assert capacity.family.fits(8) and capacity.short == capacity.regional and capacity.regional.free == 4
        with emulator.arm() as arm:
            over = arm.put(emulator.deployment_path(endpoint, "more"), json=_deployment_body(1))
            assert (over.status_code, over.json()["error"]["code"]) == (400, "OutOfQuota")
            assert (
                f"Current usage/limit: {room - 4}/{room} regional cores. Additional needed: 8"
                in (over.json()["error"]["message"])
            )
            assert arm.get(emulator.deployment_path(endpoint, "more")).status_code == 404
            scaled = arm.put(emulator.deployment_path(endpoint, "eight"), json=_deployment_body(2))  # 12
            assert scaled.status_code == 200, scaled.text  # it gives its own 8 back first
    finally:
        lab.in_process("emulator", "quota", "regional=default", "--state-dir", state_dir)
    assert _regional(ml_client).limit == DEFAULT_REGIONAL_LIMIT


def test_the_replies_conform_to_azures_schemas(emulator):
    with emulator.arm() as arm:
        location = (
            f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.MachineLearningServices/locations/local"
        )
        jsonschema.validate(arm.get(location + "/usages").json(), paginated(USAGE))
        jsonschema.validate(arm.get(location + "/vmSizes").json(), paginated(VM_SIZE))
        elsewhere = arm.get(location.replace("/local", "/westeurope") + "/usages")
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (404, "NotFound")


def test_a_role_on_the_resource_group_cannot_read_usages(emulator):
    token = grant(emulator.state_dir, str(uuid.uuid4()), [RoleGrant(ROLES / "rollout-deploy.json", None)])
    deploy = emulator.ml_client_as(token)
    with pytest.raises(HttpResponseError) as refused:
        list(deploy.compute.list_usage())
    assert refused.value.status_code == 403
    assert "Microsoft.MachineLearningServices/locations/usages/read" in str(refused.value)
    unknown = read_capacity(deploy, "Standard_DS3_v2", 1)
    assert isinstance(unknown, QuotaUnknown) and "does not have authorization" in unknown.reason
