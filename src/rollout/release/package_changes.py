"""What a release changes in the deployment environment: the packages whose version differs between
the live deployment and the candidate (the history keeps each deploy's packages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rollout.azureml.environment_packages import package_name

NOT_INSTALLED = "(none)"


@dataclass(frozen=True)
class PackageChange:
    """One package whose version differs; None on the side that does not install it."""

    name: str
    live: str | None
    candidate: str | None

    def __str__(self) -> str:
        return f"{self.name} {self.live or NOT_INSTALLED} -> {self.candidate or NOT_INSTALLED}"


@dataclass(frozen=True)
class PackageDiff:
    """The candidate's packages against live's; `unknown` says why they cannot be compared."""

    live: str | None
    candidate: str
    changes: list[PackageChange] = field(default_factory=list)
    same: int = 0  # how many packages both install at the same version
    unknown: str | None = None

    def summary(self) -> str:
        """One line: the changes, or that there are none, or why they are unknown."""
        if self.unknown is not None:
            return f"packages: {self.unknown}"
        if self.live is None:
            return f"packages of {self.candidate}: nothing live to compare with"
        if not self.changes:
            return f"packages: {self.candidate} installs the same {self.same} packages as {self.live}"
        listed = ", ".join(str(change) for change in self.changes)
        return f"packages {self.live} -> {self.candidate}: {listed}"


def changes(live: Sequence[str], candidate: Sequence[str]) -> tuple[list[PackageChange], int]:
    """The packages whose versions differ (sorted by name), and how many are the same."""
    before, after = _versions(live), _versions(candidate)
    differ = [
        PackageChange(name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    return differ, len(set(before) | set(after)) - len(differ)


def compare(
    live: str | None,
    live_packages: Sequence[str] | None,
    candidate: str,
    candidate_packages: Sequence[str] | None,
) -> PackageDiff:
    """The candidate's packages against live's; None packages are ones that were not recorded."""
    if candidate_packages is None:
        return PackageDiff(live, candidate, unknown=f"not recorded for {candidate}")
    if live is None:
        return PackageDiff(None, candidate, same=len(candidate_packages))
    if live_packages is None:
        return PackageDiff(live, candidate, unknown=f"not recorded for {live}, the live deployment")
    differ, same = changes(live_packages, candidate_packages)
    return PackageDiff(live, candidate, differ, same)


def _versions(pins: Sequence[str]) -> dict[str, str]:
    return {package_name(pin): pin.split("==", 1)[1] for pin in pins if "==" in pin}
