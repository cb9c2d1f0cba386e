"""A lab for the azure target: the emulator presented as an Azure cloud, and `rollout` processes that
use it as one (see conftest.py for how the environment is made)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CloudLab:
    home: Path
    state_dir: Path
    env: dict[str, str]
    timings: list[tuple[str, float]] = field(default_factory=list)  # (command, seconds), in order

    @property
    def az_log(self) -> Path:
        return self.home / "az.log"

    def rollout(
        self, *args: str, cwd: Path, timeout: float = 240, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """`rollout ARGS` in its own process, with `env` added (e.g. another identity's token file)."""
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "rollout", *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings.append((" ".join(args[:2]), time.monotonic() - began))
        return done

    @property
    def lock_settings(self) -> dict[str, str]:
        """The plan's `lock` for this cloud: its one storage account, on the emulator's host (a
        cloud's blob host names, `<account>.blob.<suffix>`, resolve nowhere offline)."""
        from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX
        from rollout.emulator.host import process

        running = process.status(self.state_dir)
        assert running is not None, "the cloud's emulator is not running"
        account_url = f"{running.url.rstrip('/')}/{STORAGE_ACCOUNT}.blob.{STORAGE_SUFFIX}"
        return {"lease": "15s", "account_url": account_url}

    def az_calls(self) -> list[dict]:
        if not self.az_log.exists():
            return []
        return [json.loads(line) for line in self.az_log.read_text().splitlines()]

    def emulator_log(self) -> str:
        return (self.state_dir / "emulator.log").read_text(errors="replace")
