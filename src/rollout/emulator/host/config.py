"""How one emulator runs: its state directory, registry, port, polling pace, token lifetime, timing,
instance quota and how many cached environments it warms when it starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rollout.emulator.constants import HOST
from rollout.emulator.control.timing import Timing
from rollout.emulator.credentials import DEFAULT_TOKEN_TTL_SECONDS

# The instances all deployments may reserve (Azure's VM quota, counted in instances; each deployment
# reserves 20% more than its instance_count, as Azure does). Unset: no quota.
INSTANCE_QUOTA_ENV = "ROLLOUT_EMULATOR_INSTANCE_QUOTA"

# How many of the cached environments used most recently get their ready process when the emulator
# starts (before any deployment asks), so that their first deployment does not wait for its imports.
WARM_ENVIRONMENTS_ENV = "ROLLOUT_EMULATOR_WARM_ENVIRONMENTS"
DEFAULT_WARM_ENVIRONMENTS = 2


def instance_quota_from_env() -> int | None:
    """$ROLLOUT_EMULATOR_INSTANCE_QUOTA as a positive number of instances; None when unset."""
    raw = os.environ.get(INSTANCE_QUOTA_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"${INSTANCE_QUOTA_ENV} must be a positive number of instances, not {raw!r}")
    return int(raw)


def warm_environments_from_env() -> int:
    """$ROLLOUT_EMULATOR_WARM_ENVIRONMENTS as a number of environments (0: none); 2 when unset."""
    raw = os.environ.get(WARM_ENVIRONMENTS_ENV, "").strip()
    if not raw:
        return DEFAULT_WARM_ENVIRONMENTS
    if not raw.isdigit():
        raise ValueError(
            f"${WARM_ENVIRONMENTS_ENV} must be a number of environments (0 or more), not {raw!r}"
        )
    return int(raw)


@dataclass(frozen=True)
class ServerConfig:
    """How one emulator runs."""

    state_dir: Path
    registry_uri: str
    port: int
    poll_interval_ms: int = 200
    token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS
    timing: Timing = field(default_factory=Timing)
    instance_quota: int | None = field(default_factory=instance_quota_from_env)
    warm_environments: int = field(default_factory=warm_environments_from_env)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"
