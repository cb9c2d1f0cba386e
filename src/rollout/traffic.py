"""Reading and changing an endpoint's traffic, mirror traffic and tags, the safe way.

`online_endpoints.begin_create_or_update` is a full PUT: an endpoint built from YAML carries no
traffic and would wipe the live split. Every change here is GET, change, PUT, then GET again to
confirm that the change took effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from rollout.errors import UserError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import OnlineEndpoint

_PAIR = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)=(\d{1,3})$")


def parse_split(text: str) -> dict[str, int]:
    """Parse `"blue=90 green=10"` (spaces or commas between pairs) into a traffic map."""
    pairs = [part for part in re.split(r"[\s,]+", text.strip()) if part]
    if not pairs:
        raise UserError(f"empty traffic '{text}': expected pairs like 'blue=90 green=10'")
    split: dict[str, int] = {}
    for pair in pairs:
        match = _PAIR.match(pair)
        if not match:
            raise UserError(f"malformed traffic '{pair}': expected <deployment>=<percent>, e.g. blue=90")
        name, percent = match.group(1).lower(), int(match.group(2))
        if percent > 100:
            raise UserError(f"traffic '{pair}': a percent is between 0 and 100")
        if name in split:
            raise UserError(f"traffic names '{name}' twice")
        split[name] = percent
    return split


def live_traffic(endpoint: OnlineEndpoint) -> dict[str, int]:
    """The endpoint's traffic without zero entries."""
    return {name: pct for name, pct in (endpoint.traffic or {}).items() if pct}


def mirror_traffic(endpoint: OnlineEndpoint) -> dict[str, int]:
    return {name: pct for name, pct in (endpoint.mirror_traffic or {}).items() if pct}


def check_split(split: dict[str, int], deployments: set[str]) -> None:
    """Azure's rules, checked before we send anything, so the message names our input."""
    unknown = sorted(set(split) - deployments)
    if unknown:
        known = ", ".join(sorted(deployments)) or "none"
        raise UserError(f"no deployment named {', '.join(unknown)} (deployments: {known})")
    total = sum(split.values())
    if total not in (0, 100):
        raise UserError(f"traffic must add up to 0 or 100, not {total}")


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
        raise UserError(f"endpoint {name}: {azure_message(exc)}") from exc
    updated = get_endpoint(ml, name)
    if not confirm(updated):
        raise UserError(
            f"endpoint {name}: the change did not take effect (traffic now {live_traffic(updated)})"
        )
    return updated


def set_traffic(ml: MLClient, name: str, split: dict[str, int]) -> OnlineEndpoint:
    wanted = {k: v for k, v in split.items() if v}

    def change(endpoint: OnlineEndpoint) -> None:
        endpoint.traffic = dict(split)

    return update_endpoint(ml, name, change, lambda e: live_traffic(e) == wanted)


def set_mirror(ml: MLClient, name: str, mirror: dict[str, int]) -> OnlineEndpoint:
    wanted = {k: v for k, v in mirror.items() if v}

    def change(endpoint: OnlineEndpoint) -> None:
        endpoint.mirror_traffic = dict(mirror)

    return update_endpoint(ml, name, change, lambda e: mirror_traffic(e) == wanted)


def set_tags(ml: MLClient, name: str, tags: dict[str, str | None]) -> OnlineEndpoint:
    """Set (or, with None, remove) endpoint tags, leaving traffic and other tags alone."""

    def change(endpoint: OnlineEndpoint) -> None:
        current = dict(endpoint.tags or {})
        for key, value in tags.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        endpoint.tags = current

    def confirm(endpoint: OnlineEndpoint) -> bool:
        current = endpoint.tags or {}
        return all(current.get(key) == value for key, value in tags.items())

    return update_endpoint(ml, name, change, confirm)


def get_endpoint(ml: MLClient, name: str) -> OnlineEndpoint:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return ml.online_endpoints.get(name)
    except ResourceNotFoundError as exc:
        raise UserError(f"endpoint {name} does not exist; create it with `rollout endpoint apply`") from exc


def azure_message(exc: Exception) -> str:
    """The service's own message from an azure-core error, on one line."""
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())
