"""Timing profiles: how long the emulator's long-running operations take.

`instant` finishes every change as soon as the work itself is done (unit tests). `azure` gives each
change the duration it typically takes on Azure ML managed online endpoints, multiplied by a scale
factor the user sets (`--time-scale 0.01` makes a ten-minute deployment take six seconds), so that
code which waits for an operation, or reads a resource while it is still `Updating`, is exercised
as it will be on Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Change = Literal[
    "endpoint_create",
    "endpoint_update",
    "endpoint_delete",
    "deployment_create",
    "deployment_update",
    "deployment_delete",
]

PROFILES = ("instant", "azure")
TIMING_ENV = "ROLLOUT_EMULATOR_TIMING"
TIME_SCALE_ENV = "ROLLOUT_EMULATOR_TIME_SCALE"

# Typical durations on Azure (seconds), from the service's documented and observed behaviour: an
# endpoint is created in about a minute and a half, a traffic change takes tens of seconds, a
# managed deployment takes minutes to create (VM allocation, image pull, model download).
AZURE_SECONDS: dict[str, float] = {
    "endpoint_create": 90.0,
    "endpoint_update": 40.0,
    "endpoint_delete": 120.0,
    "deployment_create": 480.0,
    "deployment_update": 300.0,
    "deployment_delete": 150.0,
}


@dataclass(frozen=True)
class Timing:
    """A timing profile and its scale factor."""

    profile: str = "instant"
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown timing profile {self.profile!r}; use one of {', '.join(PROFILES)}")
        if not self.scale >= 0:
            raise ValueError(f"the time scale must be a non-negative number, not {self.scale!r}")

    @property
    def instant(self) -> bool:
        return self.profile == "instant" or self.scale == 0

    def seconds(self, change: Change) -> float:
        """How long `change` takes under this profile (at least the time the work itself takes)."""
        if self.instant:
            return 0.0
        return AZURE_SECONDS[change] * self.scale

    def describe(self) -> str:
        return "instant" if self.profile == "instant" else f"{self.profile} x{self.scale:g}"


def timing_from(profile: str | None, scale: str | float | None) -> Timing:
    """A timing from option or environment values (None: instant, scale 1)."""
    try:
        factor = float(scale) if scale not in (None, "") else 1.0
    except ValueError:
        raise ValueError(f"the time scale must be a number, not {scale!r}") from None
    return Timing(profile=(profile or "instant").lower(), scale=factor)
