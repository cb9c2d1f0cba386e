"""The emulator's state: endpoints, deployments, keys, tokens and packaged models, with Azure's rules.

`EmulatorState` enforces the rules of `resources` on every change, raising the `errors` class
Azure answers with, and Azure's endpoint limits (endpoints, deployments, instances, and an optional
instance quota standing for the subscription's VM quota). Given a `store`, it restores itself from
it and writes every change through.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import time
from collections.abc import Callable

from rollout.emulator.credentials import (
    DEFAULT_TOKEN_TTL_SECONDS,
    TokenSigner,
    acceptable_key_value,
    key_matches,
    new_key,
)
from rollout.emulator.errors import BadArgument, Conflict, NotFound
from rollout.emulator.resources import (
    KEY_TYPES,
    PROVISIONING_STATES,
    AmlToken,
    Deployment,
    Endpoint,
    EndpointPatch,
    EndpointSettings,
    ModelPackage,
    check_deployment_limits,
    check_endpoint_limit,
    check_instance_quota,
    model_uri,
    reserved_instances,
    validate_deployment_settings,
    validate_name,
    validated_settings,
)
from rollout.emulator.store import Store

SIGNING_KEY_SECRET = "aml-token-signing-key"


class EmulatorState:
    """Endpoints, deployments, keys and tokens, with Azure's rules.

    Methods are synchronous and cheap; they return snapshots (copies), which callers must not
    expect to change. Deployment names are lower-cased as Azure does; endpoint names are matched
    case-insensitively.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        instance_quota: int | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._instance_quota = instance_quota  # instances all deployments may reserve; None: no quota
        self._endpoints: dict[str, Endpoint] = {}
        self._deployments: dict[str, dict[str, Deployment]] = {}
        self._packages: dict[tuple[str, str], ModelPackage] = {}
        self._pending: dict[str, EndpointSettings] = {}  # accepted endpoint changes not applied yet
        if store is not None:  # restore what the store kept
            for endpoint in store.load_endpoints():
                self._endpoints[endpoint.name.lower()] = endpoint
                self._deployments[endpoint.name.lower()] = {}
            for deployment in store.load_deployments():
                self._deployments.setdefault(deployment.endpoint.lower(), {})[deployment.name] = deployment
            for package in store.load_packages():
                self._packages[(package.environment_name, package.environment_version)] = package
        signing_key = store.secret(SIGNING_KEY_SECRET) if store is not None else secrets.token_hex(32)
        self._tokens = TokenSigner(signing_key, ttl=token_ttl, clock=clock)

    # Endpoints ---------------------------------------------------------------------------------

    def has_endpoint(self, name: str) -> bool:
        return name.lower() in self._endpoints

    def get_endpoint(self, name: str) -> Endpoint:
        return copy.deepcopy(self._endpoint(name))

    def read_endpoint(self, name: str) -> Endpoint:
        """The stored endpoint itself, not a copy (a copy costs more than routing a scoring request):
        for the scoring route, which reads it at once and neither changes nor keeps it."""
        return self._endpoint(name)

    def list_endpoints(self) -> list[Endpoint]:
        return [copy.deepcopy(endpoint) for endpoint in self._endpoints.values()]

    def put_endpoint(
        self, name: str, settings: EndpointSettings | None = None, *, deferred: bool = False
    ) -> tuple[Endpoint, bool]:
        """Create an endpoint or replace its settings (a full PUT). Returns it and whether it is new.

        `deferred` is Azure's asynchronous way: a new endpoint is Creating, a changed one is
        Updating and keeps its old settings (and traffic) until `finish_endpoint_change`.
        """
        return self._change_endpoint(name, settings or EndpointSettings(), deferred=deferred)

    def patch_endpoint(self, name: str, patch: EndpointPatch, *, deferred: bool = False) -> Endpoint:
        """Change the settings `patch` gives of an existing endpoint (a PATCH)."""
        current = self._endpoint(name)
        endpoint, _ = self._change_endpoint(current.name, patch.onto(current), deferred=deferred)
        return endpoint

    def finish_endpoint_change(self, name: str) -> Endpoint:
        """Apply an endpoint's pending change (checked again: deployments may be gone); mark it Succeeded."""
        endpoint = self._endpoint(name)
        pending = self._pending.pop(name.lower(), None)
        endpoint.provisioning_state = "Succeeded"
        try:
            if pending is not None:
                self._apply(endpoint, pending)
        finally:
            endpoint.modified_at = self._clock()
            self._save_endpoint(endpoint)
        return copy.deepcopy(endpoint)

    def _change_endpoint(
        self, name: str, settings: EndpointSettings, *, deferred: bool
    ) -> tuple[Endpoint, bool]:
        validate_name(name, "endpoint")
        existing = self._endpoints.get(name.lower())
        if existing is not None and existing.provisioning_state == "Deleting":
            raise Conflict(f"Endpoint '{existing.name}' is being deleted.")
        if existing is not None and existing.name.lower() in self._pending:
            raise Conflict(
                f"Endpoint '{existing.name}' is {existing.provisioning_state}: another operation is in "
                "progress on it. Wait for it to finish, then try again."
            )
        validated_settings(name, settings, self._deployments.get(name.lower(), {}))
        if existing is None:
            check_endpoint_limit(len(self._endpoints))
        now = self._clock()
        if existing is None:
            endpoint = Endpoint(
                name=name,
                primary_key=new_key(),
                secondary_key=new_key(),
                provisioning_state="Creating" if deferred else "Succeeded",
                created_at=now,
                modified_at=now,
            )
            self._apply(endpoint, settings)
            self._endpoints[name.lower()] = endpoint
            self._deployments.setdefault(name.lower(), {})
        elif deferred:
            endpoint = existing
            endpoint.provisioning_state = "Updating"
            self._pending[name.lower()] = settings
        else:
            endpoint = existing
            self._apply(endpoint, settings)
            endpoint.provisioning_state = "Succeeded"
            endpoint.modified_at = now
        self._save_endpoint(endpoint)
        return copy.deepcopy(endpoint), existing is None

    def _apply(self, endpoint: Endpoint, settings: EndpointSettings) -> None:
        deployments = self._deployments.get(endpoint.name.lower(), {})
        live, mirror = validated_settings(endpoint.name, settings, deployments)
        endpoint.auth_mode = settings.auth_mode
        endpoint.description = settings.description
        endpoint.tags = dict(settings.tags)
        endpoint.traffic = live
        endpoint.mirror_traffic = mirror
        endpoint.identity_type = settings.identity_type

    def begin_delete_endpoint(self, name: str) -> Endpoint:
        """Mark an endpoint and all its deployments Deleting (Azure deletes them together)."""
        endpoint = self._endpoint(name)
        endpoint.provisioning_state = "Deleting"
        with self._transaction():
            self._save_endpoint(endpoint)
            for deployment in self._deployments.get(name.lower(), {}).values():
                deployment.provisioning_state = "Deleting"
                self._save_deployment(deployment)
        return copy.deepcopy(endpoint)

    def remove_endpoint(self, name: str) -> None:
        """Forget an endpoint and its deployments (the end of a delete)."""
        endpoint = self._endpoints.pop(name.lower(), None)
        self._deployments.pop(name.lower(), None)
        self._pending.pop(name.lower(), None)
        if endpoint is not None and self._store is not None:
            self._store.delete_endpoint(endpoint.name)

    # Keys and tokens ---------------------------------------------------------------------------

    def regenerate_key(self, endpoint_name: str, key_type: str, key_value: str | None = None) -> Endpoint:
        """Replace the primary or secondary key; the old one stops working at once.

        A `key_value` different from the current key becomes the new key (Azure's `keyValue`);
        otherwise a new random key is generated.
        """
        endpoint = self._endpoint(endpoint_name)
        kind = key_type.lower()
        if kind not in KEY_TYPES:
            raise BadArgument(f"Key type '{key_type}' is invalid; use Primary or Secondary.")
        if endpoint.auth_mode != "key":
            raise BadArgument(f"Endpoint '{endpoint.name}' uses {endpoint.auth_mode} auth, not keys.")
        current = endpoint.primary_key if kind == "primary" else endpoint.secondary_key
        if key_value and key_value != current:
            if not acceptable_key_value(key_value):
                raise BadArgument("A key value must be at least 16 letters and digits.")
            new = key_value
        else:
            new = new_key()
        if kind == "primary":
            endpoint.primary_key = new
        else:
            endpoint.secondary_key = new
        endpoint.modified_at = self._clock()
        self._save_endpoint(endpoint)
        return copy.deepcopy(endpoint)

    def issue_token(self, endpoint_name: str) -> AmlToken:
        """A signed scoring token for an `aml_token` endpoint, valid for the token lifetime."""
        endpoint = self._endpoint(endpoint_name)
        if endpoint.auth_mode != "aml_token":
            raise BadArgument(
                f"Endpoint '{endpoint.name}' uses {endpoint.auth_mode} auth; tokens are for aml_token."
            )
        return self._tokens.issue(endpoint)

    def check_credential(self, endpoint_name: str, token: str) -> bool:
        """Whether `token` may score on the endpoint: a current key, or a valid unexpired aml token."""
        endpoint = self._endpoints.get(endpoint_name.lower())
        if endpoint is None or not token:
            return False
        if endpoint.auth_mode == "key":
            return key_matches(endpoint, token)
        return self._tokens.valid(endpoint, token)

    # Deployments -------------------------------------------------------------------------------

    def get_deployment(self, endpoint: str, name: str) -> Deployment:
        return copy.deepcopy(self._deployment(endpoint, name))

    def read_deployment(self, endpoint: str, name: str) -> Deployment:
        """The stored deployment itself, not a copy: for the scoring route (see `read_endpoint`)."""
        return self._deployment(endpoint, name)

    def list_deployments(self, endpoint: str) -> list[Deployment]:
        self._endpoint(endpoint)
        return [copy.deepcopy(d) for d in self._deployments.get(endpoint.lower(), {}).values()]

    def put_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]:
        """Create or update a deployment (provisioning state Creating or Updating); it, and whether it is new.

        The caller starts its instances and later reports the outcome with `set_deployment_state`.
        """
        endpoint = self._endpoint(deployment.endpoint)
        name = deployment.name.lower()
        validate_name(name, "deployment")
        if endpoint.provisioning_state == "Deleting":
            raise Conflict(f"Endpoint '{endpoint.name}' is being deleted.")
        siblings = self._deployments.setdefault(endpoint.name.lower(), {})
        existing = siblings.get(name)
        if existing is None:
            total = sum(len(others) for others in self._deployments.values())
            check_deployment_limits(endpoint.name, len(siblings), total)
        validate_deployment_settings(deployment)
        check_instance_quota(deployment, self._instances_reserved(but=existing), self._instance_quota)
        if existing is not None:
            if existing.provisioning_state == "Deleting":
                raise Conflict(f"Deployment '{name}' of endpoint '{endpoint.name}' is being deleted.")
            if existing.instance_type.lower() != deployment.instance_type.lower():
                raise BadArgument(
                    f"The instance_type of deployment '{name}' cannot change from {existing.instance_type} "
                    f"to {deployment.instance_type}. Create a new deployment with the new instance type."
                )
        stored = copy.deepcopy(deployment)
        stored.endpoint = endpoint.name
        stored.name = name
        stored.failure_reason = None
        now = self._clock()
        stored.created_at = existing.created_at if existing is not None else now
        stored.modified_at = now
        stored.provisioning_state = "Creating" if existing is None else "Updating"
        siblings[name] = stored
        self._save_deployment(stored)
        return copy.deepcopy(stored), existing is None

    def set_deployment_tags(self, endpoint: str, name: str, tags: dict[str, str] | None) -> Deployment:
        """Replace a deployment's tags (None keeps them); nothing to provision."""
        deployment = self._deployment(endpoint, name)
        if tags is not None:
            deployment.tags = dict(tags)
            deployment.modified_at = self._clock()
            self._save_deployment(deployment)
        return copy.deepcopy(deployment)

    def set_deployment_state(
        self, endpoint: str, name: str, provisioning_state: str, failure_reason: str | None = None
    ) -> Deployment:
        """Record the outcome of provisioning (Succeeded, or Failed with the reason)."""
        if provisioning_state not in PROVISIONING_STATES:
            raise ValueError(f"unknown provisioning state {provisioning_state!r}")
        deployment = self._deployment(endpoint, name)
        deployment.provisioning_state = provisioning_state
        deployment.failure_reason = failure_reason
        self._save_deployment(deployment)
        return copy.deepcopy(deployment)

    def begin_delete_deployment(self, endpoint: str, name: str) -> Deployment:
        """Mark a deployment Deleting, unless it still takes live or mirrored traffic."""
        owner = self._endpoint(endpoint)
        deployment = self._deployment(endpoint, name)
        if owner.traffic.get(deployment.name, 0) > 0:
            raise Conflict(
                f"Deployment '{deployment.name}' still takes {owner.traffic[deployment.name]}% of the live "
                f"traffic of endpoint '{owner.name}'. Set its traffic to 0 before deleting it."
            )
        if owner.mirror_traffic.get(deployment.name, 0) > 0:
            raise Conflict(
                f"Deployment '{deployment.name}' still receives {owner.mirror_traffic[deployment.name]}% "
                f"mirrored traffic of endpoint '{owner.name}'."
                " Set its mirror traffic to 0 before deleting it."
            )
        deployment.provisioning_state = "Deleting"
        self._save_deployment(deployment)
        return copy.deepcopy(deployment)

    def remove_deployment(self, endpoint: str, name: str) -> None:
        """Forget a deployment (the end of a delete) and its zero entries in the traffic maps."""
        owner = self._endpoints.get(endpoint.lower())
        siblings = self._deployments.get(endpoint.lower(), {})
        removed = siblings.pop(name.lower(), None)
        with self._transaction():
            if owner is not None:
                owner.traffic.pop(name.lower(), None)
                owner.mirror_traffic.pop(name.lower(), None)
                self._save_endpoint(owner)
            if removed is not None and self._store is not None:
                self._store.delete_deployment(removed.endpoint, removed.name)

    # Packaged models ---------------------------------------------------------------------------

    def package_model(self, name: str, version: str) -> ModelPackage:
        """Record that a model version was packaged into an environment (`package_model=True`)."""
        uri = model_uri(name, version)
        for package in self._packages.values():
            if package.model_uri == uri:
                return package
        environment_version = str(len(self._packages) + 1)
        package = ModelPackage("packaged-env", environment_version, uri)
        self._packages[(package.environment_name, environment_version)] = package
        if self._store is not None:
            self._store.save_package(package)
        return package

    def packaged_model(self, environment_name: str, environment_version: str) -> ModelPackage | None:
        """The package an environment id names, if it is one."""
        return self._packages.get((environment_name, environment_version))

    # Internals ---------------------------------------------------------------------------------

    def _instances_reserved(self, *, but: Deployment | None) -> int:
        """The instances of quota the deployments hold (upgrade reserve included) but one (being replaced)."""
        return sum(
            reserved_instances(deployment.instance_count)
            for siblings in self._deployments.values()
            for deployment in siblings.values()
            if deployment is not but and deployment.provisioning_state != "Deleting"
        )

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self._endpoints.get(name.lower())
        if endpoint is None:
            raise NotFound(f"Online endpoint '{name}' does not exist in this workspace.")
        return endpoint

    def _deployment(self, endpoint: str, name: str) -> Deployment:
        owner = self._endpoint(endpoint)
        deployment = self._deployments.get(endpoint.lower(), {}).get(name.lower())
        if deployment is None:
            raise NotFound(f"Deployment '{name}' does not exist in online endpoint '{owner.name}'.")
        return deployment

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        """The store's writes inside as one change (nothing to group without a store)."""
        return self._store.transaction() if self._store is not None else contextlib.nullcontext()

    def _save_endpoint(self, endpoint: Endpoint) -> None:
        if self._store is not None:
            self._store.save_endpoint(endpoint)

    def _save_deployment(self, deployment: Deployment) -> None:
        if self._store is not None:
            self._store.save_deployment(deployment)
