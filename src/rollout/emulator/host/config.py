"""How one emulator runs: its state directory, registry, port, polling pace, token lifetime and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rollout.emulator.constants import HOST
from rollout.emulator.control.timing import Timing
from rollout.emulator.credentials import DEFAULT_TOKEN_TTL_SECONDS


@dataclass(frozen=True)
class ServerConfig:
    """How one emulator runs."""

    state_dir: Path
    registry_uri: str
    port: int
    poll_interval_ms: int = 200
    token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS
    timing: Timing = field(default_factory=Timing)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"
