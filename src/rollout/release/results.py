"""What each release step returns. `to_dict()` is the step's `--json` output and, for deploy, its
GitHub step outputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rollout.release.analysis import Verdict
from rollout.release.package_changes import PackageDiff


class _Result:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass


@dataclass(frozen=True)
class DeployResult(_Result):
    """Where the pinned model went; `candidate` is None when it is already live (nothing to do)."""

    live: str | None
    candidate: str | None
    model: str


@dataclass(frozen=True)
class StageResult(_Result):
    """One stage: the split it set (and the mirror traffic, in a shadow stage), the analysis
    verdict, and whether it rolled back."""

    stage: str
    split: dict[str, int]
    verdict: Verdict
    rolled_back: bool
    mirror: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "split": self.split,
            "mirror": self.mirror,
            "rolled_back": self.rolled_back,
            **self.verdict.to_dict(),
        }


@dataclass(frozen=True)
class RollbackResult(_Result):
    live: str | None
    candidate: str | None
    deleted: bool


@dataclass(frozen=True)
class RetireResult(_Result):
    """The deployment deleted (None when there was no release to close) and the one now live."""

    retired: str | None
    live: str | None


@dataclass(frozen=True)
class DeploymentStatus(_Result):
    name: str
    model: str | None
    state: str
    instance_type: str | None
    instance_count: int | None
    traffic: int
    mirror: int
    role: str  # candidate, live or idle


@dataclass(frozen=True)
class Status(_Result):
    """The endpoint, its deployments and traffic, and the release recorded in its tags."""

    endpoint: str
    state: str
    scoring_uri: str | None
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    live: str | None
    candidate: str | None
    release: str | None
    stage: str | None
    verdict: str | None
    deployments: list[DeploymentStatus] = field(default_factory=list)
    packages: PackageDiff | None = None  # during a release: the candidate's packages against live's
