"""Which slot is live, which is the candidate, and what the endpoint's release tags record.

A release in progress is recorded in endpoint tags, so every command (and every GitHub job, on
another runner) sees the same state:
- `rollout.live`: the slot that was live before the release ("" for a first release),
- `rollout.candidate`: the slot the release deployed into,
- `rollout.model`: the model being released, `name:version`,
- `rollout.stage`: the last stage that passed, `rollout.verdict`: the last analysis verdict,
- `rollout.run`: the GitHub run that deployed it (GITHUB_RUN_ID; "" outside GitHub).
Without a release in progress, the live slot is the one holding the most traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rollout.azureml.endpoints import live_traffic

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

TAG_LIVE = "rollout.live"
TAG_CANDIDATE = "rollout.candidate"
TAG_MODEL = "rollout.model"
TAG_STAGE = "rollout.stage"
TAG_VERDICT = "rollout.verdict"
TAG_RUN = "rollout.run"
RELEASE_TAGS = (TAG_LIVE, TAG_CANDIDATE, TAG_MODEL, TAG_STAGE, TAG_RUN)

_ARM_MODEL = re.compile(r"/models/([^/]+)/versions/([^/]+)$")
_SHORT_MODEL = re.compile(r"^azureml:([^:/]+):([^:/]+)$")


@dataclass(frozen=True)
class Roles:
    live: str | None  # live before the release (or now, when no release is in progress)
    candidate: str | None  # the slot being released into; None when no release is in progress
    stage: str | None  # last stage passed
    model: str | None  # `name:version` being released

    @property
    def in_progress(self) -> bool:
        return self.candidate is not None


def read_roles(endpoint: OnlineEndpoint, deployments: set[str]) -> Roles:
    tags = endpoint.tags or {}
    candidate = tags.get(TAG_CANDIDATE) or None
    if candidate and candidate in deployments:
        return Roles(
            live=tags.get(TAG_LIVE) or None,
            candidate=candidate,
            stage=tags.get(TAG_STAGE) or None,
            model=tags.get(TAG_MODEL) or None,
        )
    traffic = live_traffic(endpoint)
    live = max(traffic, key=lambda name: traffic[name]) if traffic else None
    return Roles(live=live, candidate=None, stage=None, model=None)


def idle_slot(slots: list[str], live: str | None) -> str:
    """The first slot that is not live."""
    return next(slot for slot in slots if slot != live)


def model_of(deployment: OnlineDeployment) -> str | None:
    """`name:version` of the model a deployment serves, from an ARM id or `azureml:` reference."""
    model = deployment.model
    reference = model if isinstance(model, str) else getattr(model, "id", None) or ""
    if not reference and model is not None:
        name, version = getattr(model, "name", None), getattr(model, "version", None)
        return f"{name}:{version}" if name and version else None
    match = _ARM_MODEL.search(reference) or _SHORT_MODEL.match(reference)
    return f"{match.group(1)}:{match.group(2)}" if match else reference or None
