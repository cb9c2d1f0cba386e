"""What each fact means: a check per line, with one line of advice when it fails. Pure functions of
the facts (`rollout.doctor.facts`); nothing here reads a target."""

from __future__ import annotations

from rollout.azureml.vm_quota import QuotaUnknown
from rollout.doctor.checks import Check
from rollout.doctor.facts import (
    CredentialFacts,
    DeploymentShape,
    EndpointFacts,
    IdentityFacts,
    LockFacts,
    MetricFacts,
    QuotaFacts,
    ScopeKind,
    SlotFacts,
)

ENDPOINT_ACTIONS = "/onlineEndpoints/"
# ARM tokens of the public cloud name either of its resource manager's two audiences
_ARM_ALIASES = {"https://management.core.windows.net": "https://management.azure.com"}
ROLES_ADVICE = "`rollout github roles` prints the az commands that create and assign them"


def credential_check(facts: CredentialFacts) -> Check:
    """Which credential answered, for which cloud, and whether its token is for that cloud."""
    if facts.error is not None or facts.credential is None:
        return Check(
            "credential",
            "sign-in",
            False,
            f"no credential gave a token for {facts.cloud}: {facts.error or 'none answered'}",
            "sign in with `az login` (on GitHub: azure/login with the environment's AZURE_CLIENT_ID)",
        )
    audience = facts.audience or "n/a (not a JWT)"
    detail = f"{facts.credential} answered for {facts.cloud}; token audience {audience}"
    if facts.audience is not None and _normal(facts.audience) != _normal(facts.resource_manager):
        return Check(
            "credential",
            facts.credential,
            False,
            detail,
            f"the token is for {facts.audience}, not {facts.resource_manager}: sign in to the target's "
            "cloud (`az cloud set`, AZUREML_CURRENT_CLOUD) and again with `az login`",
        )
    return Check("credential", facts.credential, True, detail)


def _normal(url: str) -> str:
    base = url.removesuffix("/.default").rstrip("/").lower()
    return _ARM_ALIASES.get(base, base)


def needed_at(facts: IdentityFacts) -> dict[ScopeKind, tuple[list[str], list[str], list[str]]]:
    """What the identity's roles need at each scope: (actions, data actions, role keys)."""
    needs: dict[ScopeKind, tuple[list[str], list[str], list[str]]] = {}

    def add(scope: ScopeKind, key: str, actions: list[str], data: list[str]) -> None:
        if not actions and not data:
            return
        have = needs.setdefault(scope, ([], [], []))
        have[0].extend(a for a in actions if a not in have[0])
        have[1].extend(a for a in data if a not in have[1])
        if key not in have[2]:
            have[2].append(key)

    for role in facts.needs:
        if role.on_container:
            add("lock container", role.key, list(role.actions), list(role.data_actions))
            continue
        on_endpoint = [a for a in role.actions if ENDPOINT_ACTIONS in a]
        add("workspace", role.key, [a for a in role.actions if a not in on_endpoint], [])
        add("endpoint", role.key, on_endpoint, list(role.data_actions))
    return needs


def identity_checks(facts: IdentityFacts) -> list[Check]:
    """The identity's permissions at each scope against what its environment's jobs need."""
    who = f"identity {facts.client_id}" if facts.client_id else "the signed-in caller"
    subject = f"{facts.environment} ({facts.client_id or 'caller'})"
    checks = []
    for scope, (actions, data, keys) in needed_at(facts).items():
        roles = ", ".join(keys)
        permissions = facts.permissions.get(scope)
        if permissions is None:
            error = facts.errors.get(scope, "not read")
            checks.append(
                Check(
                    "permissions",
                    subject,
                    False,
                    f"on the {scope}: cannot read the permissions of {who}: {error}",
                    f"create {who} and give it the roles {roles} ({ROLES_ADVICE})",
                )
            )
            continue
        missing = permissions.missing(actions) + permissions.missing(data, data=True)
        if missing:
            checks.append(
                Check(
                    "permissions",
                    subject,
                    False,
                    f"on the {scope}: {who} lacks {', '.join(missing)}",
                    f"assign {who} the roles {roles} (.github/roles/) on the {scope}: {ROLES_ADVICE}",
                )
            )
        else:
            checks.append(Check("permissions", subject, True, f"on the {scope}: everything {roles} need"))
    return checks


def lock_check(facts: LockFacts) -> Check:
    """The caller's data role on the lock's container."""
    subject = f"{facts.account}/{facts.container}"
    if facts.exists is False:
        return Check(
            "lock",
            subject,
            False,
            f"the lock's container {facts.container} does not exist in account {facts.account}",
            f"create it (`az storage container create --account-name {facts.account} --name "
            f"{facts.container} --auth-mode login`) or name an existing one in the plan's `lock.container`",
        )
    if facts.permissions is None or facts.exists is None:
        return Check(
            "lock",
            subject,
            False,
            f"cannot read the lock's container or the permissions on it: {facts.error or 'not read'}",
            "check the plan's `lock` (account_url, container) and the workspace's default datastore",
        )
    missing = facts.permissions.missing(facts.needed_data_actions, data=True)
    if missing:
        return Check(
            "lock",
            subject,
            False,
            f"the caller lacks {', '.join(missing)} on the lock's container",
            f"assign the caller the role rollout-lock (.github/roles/rollout-lock.json) or Storage Blob "
            f"Data Contributor on container {facts.container} of account {facts.account}",
        )
    return Check("lock", subject, True, "exists; the caller reads, writes and leases its blobs")


def endpoint_checks(facts: EndpointFacts) -> list[Check]:
    """The live endpoint and its deployments against the specs, and which slot is idle."""
    if not facts.exists:
        return [Check("endpoint", facts.name, True, "not created yet: the first `rollout deploy` creates it")]
    checks = []
    if facts.spec_auth_mode and facts.live_auth_mode and facts.spec_auth_mode != facts.live_auth_mode:
        checks.append(
            Check(
                "endpoint",
                facts.name,
                False,
                f"auth mode: the spec says {facts.spec_auth_mode}, the live endpoint {facts.live_auth_mode}",
                f"set `auth_mode: {facts.live_auth_mode}` in the endpoint's spec, or change the live "
                "endpoint to the spec's: the jobs' roles and scoring credential follow the spec",
            )
        )
    else:
        checks.append(Check("endpoint", facts.name, True, f"auth mode {facts.live_auth_mode}, as the spec"))
    for slot in facts.slots:
        checks.extend(_slot_checks(slot))
    if facts.release_in_progress:
        checks.append(Check("slot", "-", True, "no slot is idle: a release is in progress"))
    elif facts.idle_slot is not None:
        checks.append(Check("slot", facts.idle_slot, True, "idle: the next release deploys into it"))
    return checks


def _slot_checks(slot: SlotFacts) -> list[Check]:
    if slot.live is None:
        return [Check("slot", slot.slot, True, f"{slot.role}: not deployed")]
    differences = _differences(slot.spec, slot.live)
    if not differences:
        return [Check("slot", slot.slot, True, f"{slot.role}: deployed as its spec")]
    checks = []
    for name, spec, live in differences:
        if name == "instance_type":
            advice = (
                f"Azure cannot change a deployment's instance type in place: set `instance_type: {live}` "
                f"in the slot's spec, or retire {slot.slot} so that the next release creates it anew"
            )
        else:
            advice = (
                f"set `{name}: {live}` in the slot's spec, or the next deploy into {slot.slot} sets {spec}"
            )
        checks.append(
            Check(
                "slot",
                slot.slot,
                False,
                f"{slot.role}: {name}: the spec says {spec}, the live deployment {live}",
                advice,
            )
        )
    return checks


def _differences(spec: DeploymentShape, live: DeploymentShape) -> list[tuple[str, object, object]]:
    found: list[tuple[str, object, object]] = []
    if spec.instance_type and live.instance_type and spec.instance_type.lower() != live.instance_type.lower():
        found.append(("instance_type", spec.instance_type, live.instance_type))
    if spec.instance_count is not None and spec.instance_count != live.instance_count:
        found.append(("instance_count", spec.instance_count, live.instance_count))
    for name, value in spec.request_settings.items():
        if value is not None and live.request_settings.get(name) != value:
            found.append((f"request_settings.{name}", value, live.request_settings.get(name)))
    return found


def metrics_check(facts: MetricFacts) -> Check:
    """The metrics the analysis reads are published on the endpoint's resource."""
    listing = f"`az monitor metrics list-definitions --resource {facts.resource_id}`"
    if facts.published is None:
        return Check(
            "metrics",
            "Azure Monitor",
            False,
            f"cannot list the endpoint's metric definitions: {facts.error or 'not read'}",
            f"give the caller Microsoft.Insights/metricDefinitions/read (Monitoring Reader), then {listing}",
        )
    published = {name.lower() for name in facts.published}
    missing = [name for name in facts.needed if name.lower() not in published]
    if missing:
        return Check(
            "metrics",
            "Azure Monitor",
            False,
            f"the endpoint's resource does not publish {', '.join(missing)}, which the analysis reads",
            f"the analysis cannot judge a stage without them: see what the region publishes with {listing}",
        )
    return Check("metrics", "Azure Monitor", True, f"published on the endpoint: {', '.join(facts.needed)}")


QUOTA_READS = (
    "Microsoft.MachineLearningServices/locations/usages/read",
    "Microsoft.MachineLearningServices/locations/vmSizes/read",
)


def quota_check(facts: QuotaFacts) -> Check:
    """The cores of the slot the next release deploys into fit its VM family's free quota and the
    region's free total (with Azure's 20% upgrade reserve); the line shows both."""
    reading = facts.reading
    if facts.slot is None or reading is None:
        return Check("quota", "-", True, "no slot to deploy into: a release is in progress")
    if isinstance(reading, QuotaUnknown):
        return Check(
            "quota",
            facts.slot,
            False,
            f"cannot read the quota for {facts.instance_type}: {reading.reason}",
            f"give the caller {' and '.join(QUOTA_READS)} on the subscription (its Reader role has both), "
            "or compare the family's usage and limit in the Azure portal (Quotas); `rollout deploy` "
            "warns and deploys without the check",
        )
    short = reading.short
    if short is not None:
        return Check(
            "quota",
            facts.slot,
            False,
            reading.summary(free=True),
            f"request {short.increase} in the workspace's region, or choose a "
            f"smaller instance_type or fewer instances in {facts.slot}'s spec",
        )
    return Check("quota", facts.slot, True, f"{reading.summary()}: fits")


def workflows_check(problems: list[str] | None) -> Check:
    """The release workflows in step with the plan (`rollout workflow render --check`); None: the
    project has no workflows (its releases run by hand)."""
    if problems is None:
        return Check("workflows", "GitHub Actions", True, "none in .github/workflows: releases run by hand")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Check(
            "workflows",
            "GitHub Actions",
            False,
            f"out of step with the release plan: {problems[0]}{more}",
            "run `rollout workflow render` and commit what it writes (`--check` lists every difference)",
        )
    return Check("workflows", "GitHub Actions", True, "the workflows and the roles match the plan")
