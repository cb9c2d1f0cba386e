"""The doctor's rules over typed facts: what each finding means and the advice it gives."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from rollout.azureml.vm_quota import REGIONAL_NAME, Capacity, CoreLimit, CoreNeed, QuotaUnknown
from rollout.core.errors import UserError
from rollout.doctor.facts import (
    CredentialFacts,
    DeploymentShape,
    EndpointFacts,
    IdentityFacts,
    LockFacts,
    MetricFacts,
    NeededRole,
    QuotaFacts,
    SlotFacts,
)
from rollout.doctor.gather import audience_of, needed_role
from rollout.doctor.permissions import PermissionEntry, Permissions
from rollout.doctor.rules import (
    credential_check,
    endpoint_checks,
    identity_checks,
    lock_check,
    metrics_check,
    needed_at,
    quota_check,
    workflows_check,
)

EP = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
WS_READ = "Microsoft.MachineLearningServices/workspaces/read"
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
TRAFFIC = NeededRole(
    "rollout-traffic", (WS_READ, EP + "/read", EP + "/write"), (EP + "/score/action",), False
)
LOCK = NeededRole("rollout-lock", (), (BLOBS + "/read", BLOBS + "/write"), True)
RM = "https://management.azure.com"


def token(claims: dict[str, str]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"e30.{body}.sig"


def test_the_credential_line_names_the_credential_the_cloud_and_the_audience() -> None:
    ok = credential_check(
        CredentialFacts("DefaultAzureCredential (AzureCliCredential)", "cloud AzureCloud", RM, RM + "/")
    )
    assert (
        ok.ok and "AzureCliCredential" in ok.detail and "audience https://management.azure.com/" in ok.detail
    )
    # the public cloud's tokens may name its older audience
    assert credential_check(CredentialFacts("c", "cloud", RM, "https://management.core.windows.net/")).ok
    wrong = credential_check(CredentialFacts("c", "cloud", RM, "https://management.usgovcloudapi.net/"))
    assert not wrong.ok and wrong.advice and "az cloud set" in wrong.advice
    none = credential_check(CredentialFacts(None, "cloud AzureCloud", RM, error="Azure CLI not found"))
    assert not none.ok and "Azure CLI not found" in none.detail and none.advice and "az login" in none.advice


def test_the_audience_is_read_from_a_jwt_and_nothing_else() -> None:
    assert audience_of(token({"aud": RM + "/"})) == RM + "/"
    assert audience_of("an-opaque-management-token") is None
    assert audience_of(token({"sub": "x"})) is None


def test_permissions_follow_azure_wildcards_and_not_actions() -> None:
    contributor = Permissions((PermissionEntry(("*",), ("Microsoft.Authorization/*/write",)),))
    assert contributor.allows(EP + "/write")
    assert not contributor.allows("Microsoft.Authorization/roleAssignments/write")
    assert not contributor.allows(BLOBS + "/read", data=True)  # actions grant no data actions
    reader = Permissions.from_json([{"actions": ["microsoft.machinelearningservices/workspaces/*/read"]}])
    assert reader.missing([EP + "/read", EP + "/write"]) == [EP + "/write"]


def test_a_role_is_checked_where_its_actions_apply() -> None:
    facts = IdentityFacts("canary", "id-1", (TRAFFIC, LOCK))
    needs = needed_at(facts)
    assert needs["workspace"] == ([WS_READ], [], ["rollout-traffic"])
    assert needs["endpoint"] == ([EP + "/read", EP + "/write"], [EP + "/score/action"], ["rollout-traffic"])
    assert needs["lock container"] == ([], [BLOBS + "/read", BLOBS + "/write"], ["rollout-lock"])


def test_an_identity_lacking_an_action_gets_the_role_to_assign_where() -> None:
    everything = Permissions((PermissionEntry(("*",), (), ("*",)),))
    reads_only = Permissions((PermissionEntry((WS_READ, EP + "/read"), (), (EP + "/score/action",)),))
    facts = IdentityFacts(
        "canary",
        "id-1",
        (TRAFFIC, LOCK),
        {"workspace": everything, "endpoint": reads_only},
        {"lock container": "401 AuthenticationFailed"},
    )
    workspace, endpoint, container = identity_checks(facts)
    assert workspace.ok and "everything rollout-traffic need" in workspace.detail
    assert not endpoint.ok and endpoint.detail == f"on the endpoint: identity id-1 lacks {EP}/write"
    assert endpoint.advice and endpoint.advice.startswith("assign identity id-1 the roles rollout-traffic")
    assert not container.ok and "401 AuthenticationFailed" in container.detail
    assert container.advice and "create identity id-1" in container.advice


def test_the_lock_needs_the_callers_data_role_on_its_container() -> None:
    needed = (BLOBS + "/read", BLOBS + "/write")
    owner = Permissions((PermissionEntry(("*",)),))  # Azure's Owner: no data actions
    refused = lock_check(LockFacts("acct", "locks", owner, needed, exists=True))
    assert not refused.ok and f"{BLOBS}/read, {BLOBS}/write" in refused.detail
    assert (
        refused.advice
        and "Storage Blob Data Contributor on container locks of account acct" in refused.advice
    )
    data = Permissions((PermissionEntry((), (), (BLOBS + "/*",)),))
    assert lock_check(LockFacts("acct", "locks", data, needed, exists=True)).ok
    unread = lock_check(LockFacts("acct", "locks", None, needed, "404 NotFound", exists=True))
    assert not unread.ok and "404 NotFound" in unread.detail
    unknown = lock_check(LockFacts("acct", "locks", data, needed, "AuthorizationFailure: no"))
    assert not unknown.ok and "AuthorizationFailure" in unknown.detail
    missing = lock_check(LockFacts("acct", "locks", data, needed, exists=False))
    assert not missing.ok and missing.detail == "the lock's container locks does not exist in account acct"
    assert missing.advice and "az storage container create --account-name acct --name locks" in missing.advice


def shape(kind: str = "Standard_DS3_v2", count: int = 1, timeout: int | None = 5000) -> DeploymentShape:
    return DeploymentShape(kind, count, {"request_timeout_ms": timeout})


def test_a_live_slot_like_its_spec_passes_and_names_the_idle_slot() -> None:
    facts = EndpointFacts(
        "ep",
        True,
        "key",
        "key",
        (SlotFacts("blue", shape(), shape(), "live"), SlotFacts("green", shape(), None, "idle")),
        "green",
    )
    checks = endpoint_checks(facts)
    assert all(c.ok for c in checks)
    assert [c.detail for c in checks] == [
        "auth mode key, as the spec",
        "live: deployed as its spec",
        "idle: not deployed",
        "idle: the next release deploys into it",
    ]
    assert endpoint_checks(EndpointFacts("ep", False, "key"))[0].detail.startswith("not created yet")
    busy = endpoint_checks(EndpointFacts("ep", True, "key", "key", (), None, release_in_progress=True))
    assert busy[-1].detail == "no slot is idle: a release is in progress"


def test_each_difference_from_the_spec_is_a_failure_with_its_fix() -> None:
    live = shape("Standard_F4s_v2", 2, 9000)
    unset = DeploymentShape("Standard_DS3_v2", 1, {"request_timeout_ms": None})
    facts = EndpointFacts(
        "ep", True, "aml_token", "key", (SlotFacts("blue", shape(), live, "live"),), "green"
    )
    auth, kind, count, timeout, idle = endpoint_checks(facts)
    assert not auth.ok and auth.advice and auth.advice.startswith("set `auth_mode: key`")
    assert (
        not kind.ok and kind.advice and "cannot change a deployment's instance type in place" in kind.advice
    )
    assert not count.ok and count.detail == "live: instance_count: the spec says 1, the live deployment 2"
    assert not timeout.ok and timeout.advice == (
        "set `request_settings.request_timeout_ms: 9000` in the slot's spec, "
        "or the next deploy into blue sets 5000"
    )
    assert idle.ok
    # a setting the spec leaves out is the platform's to choose; instance types compare case-blind
    unset_slot = SlotFacts("b", unset, shape(timeout=9000), "live")
    assert endpoint_checks(EndpointFacts("ep", True, "key", "key", (unset_slot,)))[1].ok
    same_kind = DeploymentShape("standard_ds3_v2", 1, {"request_timeout_ms": None})
    assert endpoint_checks(
        EndpointFacts("ep", True, "key", "key", (SlotFacts("b", same_kind, shape(), "live"),))
    )[1].ok


def test_the_metrics_the_analysis_reads_must_be_published_on_the_endpoint() -> None:
    needed = ("RequestsPerMinute", "RequestLatency_P95")
    assert metrics_check(MetricFacts("/ep", needed, ("requestsperminute", "RequestLatency_P95", "x"))).ok
    missing = metrics_check(MetricFacts("/ep", needed, ("RequestsPerMinute", "RequestLatency")))
    assert not missing.ok and "does not publish RequestLatency_P95" in missing.detail
    assert missing.advice and "az monitor metrics list-definitions --resource /ep" in missing.advice
    refused = metrics_check(MetricFacts("/ep", needed, None, "AuthorizationFailed: no"))
    assert not refused.ok and "AuthorizationFailed" in refused.detail
    assert refused.advice and "metricDefinitions/read" in refused.advice


def test_a_role_without_a_definition_is_one_error_line(tmp_path: Path) -> None:
    assert needed_role(tmp_path, "rollout-gate", "key").actions  # rollout's own, with no file
    with pytest.raises(UserError, match=r"role rollout-custom: no .* and rollout has no role of that name"):
        needed_role(tmp_path, "rollout-custom", "key")
    broken = tmp_path / ".github" / "roles" / "rollout-custom.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    with pytest.raises(UserError, match="not a role definition's JSON"):
        needed_role(tmp_path, "rollout-custom", "key")


def test_the_workflows_line_says_in_step_stale_or_absent() -> None:
    assert workflows_check([]).ok and workflows_check(None).ok
    stale = workflows_check([".github/workflows/release.yml: stage full bakes 5m", "rollback.yml differs"])
    assert not stale.ok
    assert stale.detail == (
        "out of step with the release plan: .github/workflows/release.yml: stage full bakes 5m (and 1 more)"
    )
    assert stale.advice is not None and "rollout workflow render" in stale.advice


def test_the_quota_line_fits_falls_short_or_cannot_be_read() -> None:
    need = CoreNeed("Standard_DS3_v2", "standardDSv2Family", 4, 2)  # 3 instances held: 12 cores
    family = CoreLimit("standardDSv2Family", used=8, limit=20)
    fits = quota_check(QuotaFacts("green", "Standard_DS3_v2", Capacity(need, family)))
    assert fits.ok and fits.detail.endswith("8 used of 20: fits")
    short = quota_check(
        QuotaFacts("green", "Standard_DS3_v2", Capacity(need, CoreLimit(family.name, 10, 20)))
    )
    assert not short.ok and short.detail.endswith("10 used of 20, 10 free")
    assert short.advice is not None and "request a quota increase for standardDSv2Family" in short.advice
    regional = CoreLimit(
        REGIONAL_NAME, used=30, limit=40, regional=True
    )  # the family has room, not the region
    both = quota_check(QuotaFacts("green", "Standard_DS3_v2", Capacity(need, family, regional)))
    assert not both.ok and both.detail.endswith(
        "8 used of 20, 12 free; regional total: 30 used of 40, 10 free"
    )
    assert both.advice == (
        f"request a regional quota increase ({REGIONAL_NAME}) in the workspace's region, or choose a "
        "smaller instance_type or fewer instances in green's spec"
    )
    wide = CoreLimit(REGIONAL_NAME, used=30, limit=3000, regional=True)
    assert quota_check(QuotaFacts("green", "x", Capacity(need, family, wide))).detail.endswith(
        "8 used of 20; regional total: 30 used of 3000: fits"
    )
    unread = quota_check(QuotaFacts("green", "Standard_DS3_v2", QuotaUnknown("403 AuthorizationFailed")))
    assert (
        not unread.ok
        and unread.detail == "cannot read the quota for Standard_DS3_v2: 403 AuthorizationFailed"
    )
    assert unread.advice is not None and "locations/usages/read" in unread.advice
    assert quota_check(QuotaFacts(None)).ok  # a release in progress: its candidate holds its cores
