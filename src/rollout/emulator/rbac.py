"""Azure RBAC's rules, as the emulator enforces them (no HTTP, no files).

A role definition is Azure's `roleDefinition` as `az role definition create` takes it (`Name`,
`Description`, `Actions`, `NotActions`, `DataActions`, `NotDataActions`, `AssignableScopes`); a
role assignment gives a principal one role at one scope (and everything below it). An action is
allowed when an assignment whose scope covers the resource has a role that grants it: one of its
`Actions` (or `DataActions`) matches and none of its `NotActions` (`NotDataActions`) does. Patterns
match case-insensitively, `*` standing for any characters, as Azure's wildcards do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

_KEYS = ("Actions", "NotActions", "DataActions", "NotDataActions")


@dataclass(frozen=True)
class RoleDefinition:
    """One role: what it allows and what it takes back, for management and for data actions."""

    name: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoleDefinition:
        """From Azure's `roleDefinition` shape (keys in any case); ValueError when it is not one."""
        keys = {str(key).lower(): value for key, value in data.items()}
        name = keys.get("name") or keys.get("rolename")
        if not isinstance(name, str) or not name:
            raise ValueError("a role definition needs a Name")
        lists: list[tuple[str, ...]] = []
        for key in _KEYS:
            value = keys.get(key.lower(), [])
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"role {name}: {key} must be a list of action names")
            lists.append(tuple(value))
        return cls(name, *lists)

    def to_json(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Actions": list(self.actions),
            "NotActions": list(self.not_actions),
            "DataActions": list(self.data_actions),
            "NotDataActions": list(self.not_data_actions),
        }

    def grants(self, action: str, *, data: bool = False) -> bool:
        """Whether this role allows `action` (a data action when `data`)."""
        allowed, taken_back = (
            (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        )
        return any(matches(pattern, action) for pattern in allowed) and not any(
            matches(pattern, action) for pattern in taken_back
        )


# What the emulator's management token holds: Owner's actions and every data action.
OWNER = RoleDefinition("Owner", actions=("*",), data_actions=("*",))


@dataclass(frozen=True)
class RoleAssignment:
    role: RoleDefinition
    scope: str

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role.to_json(), "scope": self.scope}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoleAssignment:
        scope = data.get("scope")
        if not isinstance(scope, str) or not scope.startswith("/"):
            raise ValueError("a role assignment needs a scope such as /subscriptions/<id>/...")
        return cls(RoleDefinition.from_json(data.get("role") or {}), scope)


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the client id it logged in as, its object id and its role assignments."""

    client_id: str
    object_id: str
    assignments: tuple[RoleAssignment, ...]

    def allowed(self, action: str, resource: str, *, data: bool = False) -> bool:
        """Whether an assignment covering `resource` grants `action`."""
        return any(
            covers(assignment.scope, resource) and assignment.role.grants(action, data=data)
            for assignment in self.assignments
        )

    def permissions(self, resource: str) -> list[dict[str, list[str]]]:
        """ARM's `Microsoft.Authorization/permissions` at `resource`: one entry per role assigned
        there or above."""
        return [
            {
                "actions": list(a.role.actions),
                "notActions": list(a.role.not_actions),
                "dataActions": list(a.role.data_actions),
                "notDataActions": list(a.role.not_data_actions),
            }
            for a in self.assignments
            if covers(a.scope, resource)
        ]

    def refusal(self, action: str, scope: str) -> str:
        """Azure Resource Manager's message for an action outside the principal's roles."""
        return (
            f"The client '{self.client_id}' with object id '{self.object_id}' does not have "
            f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials."
        )


def owner(client_id: str = "rollout-emulator-owner") -> Principal:
    """The holder of the management token: Owner at every scope."""
    return Principal(client_id, object_id_of(client_id), (RoleAssignment(OWNER, "/"),))


def object_id_of(client_id: str) -> str:
    """A stable object id for a client id (Entra ID gives each service principal one)."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, client_id.lower()))


def covers(scope: str, resource: str) -> bool:
    """Whether an assignment at `scope` applies to `resource` (the scope itself or below it)."""
    outer, inner = scope.rstrip("/").lower(), resource.rstrip("/").lower()
    return not outer or inner == outer or inner.startswith(outer + "/")


def matches(pattern: str, action: str) -> bool:
    """Azure's action wildcards: case-insensitive, `*` for any characters."""
    return _pattern(pattern.lower()).fullmatch(action.lower()) is not None


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def assignments_from_json(items: Iterable[Mapping[str, Any]]) -> tuple[RoleAssignment, ...]:
    return tuple(RoleAssignment.from_json(item) for item in items)
