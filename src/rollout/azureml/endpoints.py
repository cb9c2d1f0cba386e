"""Endpoints: reading one, creating or updating it from its spec, and changing its traffic, mirror
traffic and tags, the safe way.

`online_endpoints.begin_create_or_update` is a full PUT: an endpoint built from YAML carries no
traffic and would wipe the live split. Every change here is GET, change, PUT, then GET again to
confirm that the change took effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rollout.azureml.sdk import Progress, azure_message, quiet
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import OnlineEndpoint


def live_traffic(endpoint: OnlineEndpoint) -> dict[str, int]:
    """The endpoint's traffic without zero entries."""
    return {name: pct for name, pct in (endpoint.traffic or {}).items() if pct}


def mirror_traffic(endpoint: OnlineEndpoint) -> dict[str, int]:
    return {name: pct for name, pct in (endpoint.mirror_traffic or {}).items() if pct}


class EndpointBusy(UserError):
    """The endpoint refused a change because another operation on it is in progress (409)."""


def update_endpoint(
    ml: MLClient,
    name: str,
    change: Callable[[OnlineEndpoint], None],
    confirm: Callable[[OnlineEndpoint], bool],
) -> OnlineEndpoint:
    """GET the endpoint, apply `change`, PUT it, and re-read until `confirm` holds."""
    from azure.core.exceptions import HttpResponseError

    endpoint = get_endpoint(ml, name)
    change(endpoint)
    try:
        ml.online_endpoints.begin_create_or_update(endpoint).result()
    except HttpResponseError as exc:
        error = EndpointBusy if exc.status_code == 409 else UserError
        raise error(f"endpoint {name}: {azure_message(exc)}") from exc
    updated = get_endpoint(ml, name)
    if not confirm(updated):
        raise UserError(
            f"endpoint {name}: the change did not take effect (traffic now {live_traffic(updated)})"
        )
    return updated


def set_traffic(
    ml: MLClient, name: str, split: dict[str, int], tags: dict[str, str | None] | None = None
) -> OnlineEndpoint:
    """Set the live split (and `tags`, as `set_tags` does) in one endpoint write."""
    wanted = {k: v for k, v in split.items() if v}

    def change(endpoint: OnlineEndpoint) -> None:
        endpoint.traffic = dict(split)
        _change_tags(endpoint, tags or {})

    return update_endpoint(ml, name, change, lambda e: live_traffic(e) == wanted and _has_tags(e, tags or {}))


def set_mirror(
    ml: MLClient, name: str, mirror: dict[str, int], tags: dict[str, str | None] | None = None
) -> OnlineEndpoint:
    """Set the mirror traffic (and `tags`, as `set_tags` does) in one endpoint write."""
    wanted = {k: v for k, v in mirror.items() if v}

    def change(endpoint: OnlineEndpoint) -> None:
        endpoint.mirror_traffic = dict(mirror)
        _change_tags(endpoint, tags or {})

    return update_endpoint(
        ml, name, change, lambda e: mirror_traffic(e) == wanted and _has_tags(e, tags or {})
    )


def set_tags(ml: MLClient, name: str, tags: dict[str, str | None]) -> OnlineEndpoint:
    """Set (or, with None, remove) endpoint tags, leaving traffic and other tags alone."""
    return update_endpoint(ml, name, lambda e: _change_tags(e, tags), lambda e: _has_tags(e, tags))


def _change_tags(endpoint: OnlineEndpoint, tags: dict[str, str | None]) -> None:
    current = dict(endpoint.tags or {})
    for key, value in tags.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    endpoint.tags = current


def _has_tags(endpoint: OnlineEndpoint, tags: dict[str, str | None]) -> bool:
    current = endpoint.tags or {}
    return all(current.get(key) == value for key, value in tags.items())


def get_endpoint(ml: MLClient, name: str) -> OnlineEndpoint:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return ml.online_endpoints.get(name)
    except ResourceNotFoundError as exc:
        raise UserError(f"endpoint {name} does not exist; create it with `rollout endpoint apply`") from exc


def deployment_names(ml: MLClient, endpoint: str) -> set[str]:
    """The names of the endpoint's deployments."""
    return {d.name for d in ml.online_deployments.list(endpoint)}


def apply_endpoint(ml: MLClient, spec: OnlineEndpoint, say: Progress = quiet) -> OnlineEndpoint:
    """Create the endpoint from its spec, or update it keeping traffic, mirror and release tags."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    name = spec.name
    if not name:
        raise UserError("the endpoint spec has no name")
    try:
        current = ml.online_endpoints.get(name)
    except ResourceNotFoundError:
        current = None
    if current is None:
        say(f"creating endpoint {spec.name}")
        try:
            return ml.online_endpoints.begin_create_or_update(spec).result()
        except HttpResponseError as exc:
            raise UserError(f"endpoint {spec.name}: {azure_message(exc)}") from exc
    if current.auth_mode and spec.auth_mode and current.auth_mode.lower() != spec.auth_mode.lower():
        raise UserError(
            f"endpoint {spec.name}: auth_mode is {current.auth_mode};"
            f" the spec's {spec.auth_mode} needs a new endpoint"
        )
    spec_tags = dict(spec.tags or {})

    def change(endpoint: OnlineEndpoint) -> None:
        kept = {k: v for k, v in (endpoint.tags or {}).items() if k.startswith("rollout.")}
        endpoint.tags = {**spec_tags, **kept}
        endpoint.description = spec.description

    return update_endpoint(
        ml, name, change, lambda e: all((e.tags or {}).get(k) == v for k, v in spec_tags.items())
    )


def endpoint_exists(ml: MLClient, name: str) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        ml.online_endpoints.get(name)
    except ResourceNotFoundError:
        return False
    return True
