"""How one emulator runs: its state directory, registry, port, polling pace and token lifetime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rollout.emulator.constants import HOST
from rollout.emulator.credentials import DEFAULT_TOKEN_TTL_SECONDS


@dataclass(frozen=True)
class ServerConfig:
    """How one emulator runs."""

    state_dir: Path
    registry_uri: str
    port: int
    poll_interval_ms: int = 200
    token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"
