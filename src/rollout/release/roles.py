"""Which slot is live, which is the candidate, and where the release record is kept.

A release in progress is recorded in tags, so every command (and every GitHub job, on another
runner) sees the same state. `rollout deploy` opens a release by writing its record on the candidate
deployment (a deployments write: the deploy role writes no endpoint); the first stage moves it to
the endpoint's tags in the endpoint write that sets its traffic; the last stage closes it when it
passes. The record:
- `rollout.release`: the release's id (sortable by when it was deployed),
- `rollout.live`: the slot that was live before the release ("" for a first release),
- `rollout.candidate`: the slot the release deployed into,
- `rollout.model`: the model being released, `name:version`,
- `rollout.run`: the GitHub run that deployed it (GITHUB_RUN_ID; absent outside GitHub),
- `rollout.history`: the release's summary (`rollout.release.history`);
and on the endpoint only: `rollout.stage`, the last stage that passed, `rollout.verdict`, the last
analysis verdict, and once the release is closed `rollout.drained`, the old deployment kept at 0%
until `rollout retire` deletes it (a rollback until then is one traffic change).

A deployment's record is the open release when its id is newer than the one the endpoint's tags
hold (the record on a live deployment, left from its own release, is older), unless that deployment
already takes all live traffic (given by hand, not by a stage: then it is released, as if closed).
Otherwise the endpoint's record is, while it names a candidate. Without a release in progress, the
live slot is the one holding the most traffic.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rollout.azureml.endpoints import live_traffic

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

TAG_RELEASE = "rollout.release"
TAG_LIVE = "rollout.live"
TAG_CANDIDATE = "rollout.candidate"
TAG_MODEL = "rollout.model"
TAG_STAGE = "rollout.stage"
TAG_VERDICT = "rollout.verdict"
TAG_RUN = "rollout.run"
TAG_DRAINED = "rollout.drained"
TAG_SUMMARY = "rollout.history"  # rollout.release.history.TAG_HISTORY
RELEASE_TAGS = (TAG_LIVE, TAG_CANDIDATE, TAG_MODEL, TAG_STAGE, TAG_RUN, TAG_DRAINED)

_ARM_MODEL = re.compile(r"/models/([^/]+)/versions/([^/]+)$")
_SHORT_MODEL = re.compile(r"^azureml:([^:/]+):([^:/]+)$")


@dataclass(frozen=True)
class Roles:
    live: str | None  # live before the release (or now, when no release is in progress)
    candidate: str | None  # the slot being released into; None when no release is in progress
    stage: str | None  # last stage passed
    model: str | None  # `name:version` being released
    run: str | None = None  # the GitHub run that deployed it
    history: str | None = None  # the release's summary tag
    release: str | None = None  # the release's id
    on_endpoint: bool = True  # whether the record is in the endpoint's tags (else the candidate's)
    drained: str | None = None  # a closed release's old deployment, at 0% until retired

    @property
    def in_progress(self) -> bool:
        return self.candidate is not None

    def record_tags(self) -> dict[str, str | None]:
        """The record as endpoint tags (what the first stage moves there)."""
        return {
            TAG_RELEASE: self.release,
            TAG_LIVE: self.live or "",
            TAG_CANDIDATE: self.candidate,
            TAG_MODEL: self.model,
            TAG_RUN: self.run,
            TAG_SUMMARY: self.history,
            TAG_STAGE: None,
            TAG_VERDICT: None,
            TAG_DRAINED: None,
        }

    def reopened(self) -> Roles:
        """A closed release whose old deployment is still there, open again (to roll it back)."""
        if self.candidate is not None or self.drained is None:
            return self
        return replace(self, live=self.drained, candidate=self.live, stage=None, drained=None)


def closing_tags(candidate: str, live: str | None) -> dict[str, str | None]:
    """What closes a release when its last stage passes: the candidate is live, the old deployment
    is kept at 0% as `rollout.drained` until `rollout retire` deletes it (a deployments delete,
    which writes no endpoint)."""
    return {TAG_CANDIDATE: None, TAG_LIVE: candidate, TAG_DRAINED: live, TAG_STAGE: None}


def new_release_id() -> str:
    """A release's id: when it was deployed (so that a later release's sorts after) and a nonce."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def deployment_record(roles: Roles) -> dict[str, str]:
    """The record `rollout deploy` writes on the candidate deployment's tags."""
    tags = {
        TAG_RELEASE: roles.release or "",
        TAG_LIVE: roles.live or "",
        TAG_CANDIDATE: roles.candidate or "",
        TAG_MODEL: roles.model or "",
        TAG_SUMMARY: roles.history or "",
    }
    if roles.run:
        tags[TAG_RUN] = roles.run
    return tags


def read_roles(endpoint: OnlineEndpoint, deployments: Mapping[str, OnlineDeployment | Any]) -> Roles:
    """The release in progress (from the candidate deployment's record or the endpoint's), or the
    live slot. `deployments` by name; their tags are read when they have any."""
    tags = endpoint.tags or {}
    traffic = live_traffic(endpoint)
    opened = _opened_on_deployment(deployments, tags.get(TAG_RELEASE) or "")
    if opened is not None and opened.candidate and traffic.get(opened.candidate) == 100:
        # traffic given by hand (no stage moved the record): released; its old deployment drained
        old = opened.live if opened.live in deployments else None
        return replace(opened, live=opened.candidate, candidate=None, drained=old)
    if opened is not None:
        return opened
    candidate = tags.get(TAG_CANDIDATE) or None
    recorded = Roles(
        live=tags.get(TAG_LIVE) or None,
        candidate=candidate,
        stage=tags.get(TAG_STAGE) or None,
        model=tags.get(TAG_MODEL) or None,
        run=tags.get(TAG_RUN) or None,
        history=tags.get(TAG_SUMMARY) or None,
        release=tags.get(TAG_RELEASE) or None,
    )
    if candidate and candidate in deployments:
        return recorded
    live = max(traffic, key=lambda name: traffic[name]) if traffic else None
    drained = tags.get(TAG_DRAINED) or None
    if drained not in deployments or drained == live or recorded.live != live:
        drained = None
    return replace(recorded, live=live, candidate=None, stage=None, drained=drained)


def _opened_on_deployment(deployments: Mapping[str, Any], recorded: str) -> Roles | None:
    """The newest record on a deployment that is newer than the endpoint's (`recorded`), if any."""
    newest: Roles | None = None
    for name, deployment in deployments.items():
        tags = getattr(deployment, "tags", None) or {}
        release = tags.get(TAG_RELEASE) or ""
        if tags.get(TAG_CANDIDATE) != name or release <= recorded:
            continue
        if newest is None or release > (newest.release or ""):
            newest = Roles(
                live=tags.get(TAG_LIVE) or None,
                candidate=name,
                stage=None,
                model=tags.get(TAG_MODEL) or None,
                run=tags.get(TAG_RUN) or None,
                history=tags.get(TAG_SUMMARY) or None,
                release=release,
                on_endpoint=False,
            )
    return newest


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
