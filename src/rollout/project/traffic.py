"""Traffic rules: parsing a split such as `blue=90 green=10`, and what Azure accepts as traffic and
mirror traffic (sum 0 or 100, known deployments; mirror to one deployment without live traffic, at
most 50%)."""

from __future__ import annotations

import re

from rollout.core.errors import UserError

MAX_MIRROR_PERCENT = 50

_PAIR = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)=(\d{1,3})$")


def parse_split(text: str) -> dict[str, int]:
    """Parse `"blue=90 green=10"` (spaces or commas between pairs) into a traffic map."""
    pairs = [part for part in re.split(r"[\s,]+", text.strip()) if part]
    if not pairs:
        raise UserError(f"empty traffic '{text}': expected pairs like 'blue=90 green=10'")
    split: dict[str, int] = {}
    for pair in pairs:
        match = _PAIR.match(pair)
        if not match:
            raise UserError(f"malformed traffic '{pair}': expected <deployment>=<percent>, e.g. blue=90")
        name, percent = match.group(1).lower(), int(match.group(2))
        if percent > 100:
            raise UserError(f"traffic '{pair}': a percent is between 0 and 100")
        if name in split:
            raise UserError(f"traffic names '{name}' twice")
        split[name] = percent
    return split


def check_split(split: dict[str, int], deployments: set[str]) -> None:
    """Azure's rules, checked before we send anything, so the message names our input."""
    _check_known(split, deployments)
    total = sum(split.values())
    if total not in (0, 100):
        raise UserError(f"traffic must add up to 0 or 100, not {total}")


def check_mirror(mirror: dict[str, int]) -> None:
    """Mirror traffic goes to one deployment, at most MAX_MIRROR_PERCENT of requests."""
    if len(mirror) != 1:
        raise UserError("mirror traffic goes to exactly one deployment, e.g. green=10")
    ((_, percent),) = mirror.items()
    if percent > MAX_MIRROR_PERCENT:
        raise UserError(f"mirror traffic is at most {MAX_MIRROR_PERCENT}%, not {percent}")


def check_mirror_deployment(mirror: dict[str, int], live: dict[str, int], deployments: set[str]) -> None:
    """The mirrored deployment exists and takes no live traffic."""
    for deployment in mirror:
        if live.get(deployment):
            raise UserError(
                f"{deployment} takes live traffic; only a deployment without live traffic can be mirrored to"
            )
    _check_known(mirror, deployments)


def _check_known(split: dict[str, int], deployments: set[str]) -> None:
    unknown = sorted(set(split) - deployments)
    if unknown:
        known = ", ".join(sorted(deployments)) or "none"
        raise UserError(f"no deployment named {', '.join(unknown)} (deployments: {known})")
