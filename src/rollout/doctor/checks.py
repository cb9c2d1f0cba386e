"""What `rollout doctor` answers: one check per line, with a line of advice when it fails."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table: what was checked, on what, what was found, and what to do."""

    area: str  # credential, permissions, lock, endpoint, slot
    subject: str  # what the line is about: a credential, an environment, a slot...
    ok: bool
    detail: str
    advice: str | None = None  # set when the check fails


@dataclass(frozen=True)
class Diagnosis:
    """Every check of one doctor run."""

    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    @property
    def healthy(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "healthy": self.healthy, "checks": [asdict(c) for c in self.checks]}
