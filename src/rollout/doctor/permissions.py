"""ARM's `Microsoft.Authorization/permissions` of a caller at a scope, and what they allow: an
action is allowed when a role's `actions` match it and none of the same role's `notActions` do
(Azure's wildcards: `*` for any characters, case-insensitive); data actions likewise."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class PermissionEntry:
    """One role's entry: what it grants and what it takes out."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def allows(self, action: str, *, data: bool = False) -> bool:
        granted, taken = (
            (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        )
        return any(matches(p, action) for p in granted) and not any(matches(p, action) for p in taken)


@dataclass(frozen=True)
class Permissions:
    """A caller's permissions at one scope: one entry per role assigned there or above."""

    entries: tuple[PermissionEntry, ...] = ()

    @classmethod
    def from_json(cls, value: Iterable[Mapping[str, Any]]) -> Permissions:
        """ARM's `value` list."""
        return cls(
            tuple(
                PermissionEntry(
                    tuple(item.get("actions") or ()),
                    tuple(item.get("notActions") or ()),
                    tuple(item.get("dataActions") or ()),
                    tuple(item.get("notDataActions") or ()),
                )
                for item in value
            )
        )

    def allows(self, action: str, *, data: bool = False) -> bool:
        return any(entry.allows(action, data=data) for entry in self.entries)

    def missing(self, actions: Iterable[str], *, data: bool = False) -> list[str]:
        """The actions of `actions` these permissions do not allow, in order."""
        return [action for action in actions if not self.allows(action, data=data)]


def matches(pattern: str, action: str) -> bool:
    """Azure's action wildcards: case-insensitive, `*` for any characters."""
    return _pattern(pattern.lower()).fullmatch(action.lower()) is not None


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
