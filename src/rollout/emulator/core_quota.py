"""The emulator's VM core quota, per family and the region's total: generous by default, set lower
to rehearse a subscription with little quota (`rollout emulator quota FAMILY=CORES regional=CORES`).

The limits live in the state directory's `core-quota.json` (`{"standardDSv2Family": 8,
"regional": 24}`), read on every request, so a running emulator answers with a limit as soon as it
is set.
"""

from __future__ import annotations

import json
from pathlib import Path

from rollout.core.files import write_atomically
from rollout.emulator.private_dir import ensure_private_dir
from rollout.emulator.vm_sizes import FAMILY_NAMES, CoreLimits

QUOTA_FILE = "core-quota.json"
# The key of the regional total ("Total Cluster Dedicated Regional vCPUs") in the file and in
# `rollout emulator quota regional=CORES`.
REGIONAL = "regional"
# The cores a family may hold when no limit is set: more than the largest deployment holds
# (50 instances, 60 with the reserve, of a 16-core size).
DEFAULT_FAMILY_LIMIT = 1000
# The cores all families may hold together when no limit is set: every family's default.
DEFAULT_REGIONAL_LIMIT = DEFAULT_FAMILY_LIMIT * len(FAMILY_NAMES)


def limits(state_dir: Path) -> CoreLimits:
    """Every family's limit in cores and the regional total: the file's, else the defaults."""
    path = state_dir / QUOTA_FILE
    stored = json.loads(path.read_text()) if path.is_file() else {}
    return CoreLimits(
        families={family: int(stored.get(family, DEFAULT_FAMILY_LIMIT)) for family in FAMILY_NAMES},
        regional=int(stored.get(REGIONAL, DEFAULT_REGIONAL_LIMIT)),
    )


def set_limits(state_dir: Path, changes: dict[str, int | None]) -> CoreLimits:
    """Set families' limits or the regional total's (key `regional`; None: back to the default);
    every limit after the change. A ValueError names a family the emulator does not know or a
    negative limit."""
    path = ensure_private_dir(state_dir) / QUOTA_FILE
    stored: dict[str, int] = json.loads(path.read_text()) if path.is_file() else {}
    known = {name.lower(): name for name in (*FAMILY_NAMES, REGIONAL)}
    for family, cores in changes.items():
        name = known.get(family.lower())
        if name is None:
            raise ValueError(
                f"no VM family {family!r}; the emulator knows {', '.join(FAMILY_NAMES)} "
                f"(and {REGIONAL}, the regional total)"
            )
        if cores is None:
            stored.pop(name, None)
        elif cores < 0:
            raise ValueError(f"the limit of {name} must be 0 or more cores, not {cores}")
        else:
            stored[name] = cores
    write_atomically(path, (json.dumps(stored, indent=2, sort_keys=True) + "\n").encode())
    return limits(state_dir)
