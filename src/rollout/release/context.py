"""What every release step works with: the connection, the project and its endpoint, progress
messages, reading the endpoint, putting all traffic back on live, and recording a step in the
release's history (the file and the endpoint's summary tag).

Each step reads the endpoint first and works out what is left to do, so every step is safe to
re-run after a failure; each change is confirmed by reading the endpoint again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollout.azureml.endpoints import (
    apply_endpoint,
    endpoint_exists,
    get_endpoint,
    live_traffic,
    mirror_traffic,
    update_endpoint,
)
from rollout.azureml.sdk import Progress, quiet
from rollout.release import history
from rollout.release.history import TAG_HISTORY, Entry, Split, release_id
from rollout.release.lock import Holder, ensure_held
from rollout.release.roles import Roles, read_roles

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

    from rollout.azureml.connection import Connection
    from rollout.project.specs import Project

LOCK_LEASE_SECONDS = 600  # a stage's lock expires this long after its last renewal
PROVISION_LOCK_SECONDS = 3600  # provisioning on Azure can take a while


class ReleaseContext:
    """A project's endpoint over one connection, as the release steps see it."""

    lock_lease_seconds: float = LOCK_LEASE_SECONDS

    def __init__(self, connection: Connection, project: Project, progress: Progress = quiet) -> None:
        self.conn = connection
        self.project = project
        self.endpoint_name: str = project.endpoint_name
        self.slots: list[str] = list(project.deployments)
        self.say = progress

    # -- reading -------------------------------------------------------------------------------

    def endpoint(self) -> OnlineEndpoint:
        return get_endpoint(self.conn.ml, self.endpoint_name)

    def deployments(self) -> dict[str, OnlineDeployment]:
        return {d.name: d for d in self.conn.ml.online_deployments.list(self.endpoint_name)}

    def exists(self) -> bool:
        return endpoint_exists(self.conn.ml, self.endpoint_name)

    def roles(self, endpoint: OnlineEndpoint | None = None) -> Roles:
        return read_roles(endpoint or self.endpoint(), set(self.deployments()))

    def apply_endpoint(self) -> OnlineEndpoint:
        return apply_endpoint(self.conn.ml, self.project.endpoint, self.say)

    # -- changing ------------------------------------------------------------------------------

    def restore(self, live: str | None, me: Holder, doing: str) -> None:
        """All traffic to `live` (none when there is no live deployment), mirror off, in one PUT,
        if `me` still holds the lock."""
        ensure_held(self.conn.ml, self.endpoint_name, me, doing)
        split = {live: 100} if live else {}

        def change(endpoint: OnlineEndpoint) -> None:
            endpoint.traffic = {name: split.get(name, 0) for name in endpoint.traffic or {}} | split
            endpoint.mirror_traffic = {}

        update_endpoint(
            self.conn.ml,
            self.endpoint_name,
            change,
            lambda e: live_traffic(e) == split and not mirror_traffic(e),
        )

    # -- history --------------------------------------------------------------------------------

    def history_tag(self, step: str, outcome: str, share: str) -> str:
        """The endpoint's summary tag with this step added (see `rollout.release.history`)."""
        return history.tag_add(
            (self.endpoint().tags or {}).get(TAG_HISTORY), step, outcome, share, history.now()
        )

    def record(
        self, step: str, name: str, outcome: str, roles: Roles, ended: str | None = None, **details: Any
    ) -> None:
        """Add the step to the endpoint's history file, with who ran it: `roles` name the release
        (its model, candidate and live deployment); it ended `ended` (default: now)."""
        history.append(
            Entry(
                release=release_id(roles.model, roles.candidate),
                endpoint=self.endpoint_name,
                step=step,
                name=name,
                outcome=outcome,
                ended=ended or history.now(),
                candidate=roles.candidate,
                live=roles.live,
                actor=history.who(),
                run_url=history.run_url(),
                **details,
            )
        )


def split_of(endpoint: OnlineEndpoint) -> Split:
    """The endpoint's live and mirrored traffic."""
    return Split(live_traffic(endpoint), mirror_traffic(endpoint))
