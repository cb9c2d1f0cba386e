"""The identities the emulator knows, kept in `<state dir>/identities.json` (0600): each client id
with its role assignments. `rollout emulator identity` writes it; a running emulator reads it again
whenever it changes, so assignments take effect without a restart, as Azure's do within minutes.

    {"identities": {"<client id>": [{"role": {<roleDefinition>}, "scope": "/subscriptions/..."}]}}
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from rollout.core.files import write_atomically
from rollout.emulator.rbac import RoleAssignment, assignments_from_json

IDENTITIES_FILE = "identities.json"


class IdentityFile:
    """The identities file of one state directory, read again when its modification time changes."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / IDENTITIES_FILE
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._identities: dict[str, tuple[RoleAssignment, ...]] = {}

    def assignments(self, client_id: str) -> tuple[RoleAssignment, ...] | None:
        """The role assignments of a known client id (an empty tuple: known, no roles); None when
        the emulator does not know it."""
        with self._lock:
            self._refresh()
            return self._identities.get(client_id.lower())

    def assign(self, client_id: str, assignments: tuple[RoleAssignment, ...]) -> None:
        """Make `assignments` the client id's only role assignments."""
        with self._lock:
            data = self._read()
            data[client_id.lower()] = [a.to_json() for a in assignments]
            body = json.dumps({"identities": data}, indent=2, sort_keys=True).encode()
            write_atomically(self.path, body)

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._identities = None, {}
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._identities = {
                client: assignments_from_json(items) for client, items in self._read().items()
            }
            self._seen = seen

    def _read(self) -> dict[str, list[dict[str, object]]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        identities = data.get("identities", {}) if isinstance(data, dict) else {}
        if not isinstance(identities, dict):
            return {}
        return {str(k).lower(): list(v) for k, v in identities.items()}
