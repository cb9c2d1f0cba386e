"""What every release step works with: the connection, the project and its endpoint, progress
messages, reading the endpoint, putting all traffic back on live, and recording a step in the
release's history (the file and the endpoint's summary tag).

Each step reads the endpoint first and works out what is left to do, so every step is safe to
re-run after a failure; each change is confirmed by reading the endpoint again.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from rollout.azureml.endpoints import (
    apply_endpoint,
    endpoint_exists,
    get_endpoint,
    live_traffic,
    mirror_traffic,
    update_endpoint,
)
from rollout.azureml.lease_lock import Holder, LeaseLock, LockPlace, lock_blob
from rollout.azureml.sdk import Progress, quiet, state_name
from rollout.release import history
from rollout.release.history import Entry, Split, release_id
from rollout.release.lock import HeldLock, LockTiming, hold
from rollout.release.roles import Roles, read_roles
from rollout.release.takeover import apply_until_read_back

if TYPE_CHECKING:
    from collections.abc import Callable

    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

    from rollout.azureml.connection import Connection
    from rollout.project.specs import Project

PENDING_STATES = ("Creating", "Updating")


class ReleaseContext:
    """A project's endpoint over one connection, as the release steps see it."""

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
        return read_roles(endpoint or self.endpoint(), self.deployments())

    def apply_endpoint(self) -> OnlineEndpoint:
        return apply_endpoint(self.conn.ml, self.project.endpoint, self.say)

    # -- changing ------------------------------------------------------------------------------

    def lock(self, doing: str, force: bool = False) -> AbstractContextManager[HeldLock]:
        """The endpoint's release lock, held for `doing` (taken over with `force`)."""
        timing = LockTiming(lease_seconds=self.project.plan.lock.lease_seconds)
        return hold(self._lease(doing), doing, force=force, timing=timing, say=self.say)

    def lock_holder(self) -> Holder | None:
        """Who holds the endpoint's release lock now (None: it is free)."""
        return self._lease("").holder()

    def _lease(self, doing: str) -> LeaseLock:
        settings = self.project.plan.lock
        place = LockPlace(settings.account_url, settings.container)
        # the connection's MLClient finds the default datastore: no second client, nor sign-in
        blob = lock_blob(self.conn.target, self.conn.ml, self.endpoint_name, place)
        return LeaseLock(blob, self.endpoint_name, doing=doing)

    def restore(self, live: str | None, held: HeldLock) -> None:
        """All traffic to `live` (none when there is no live deployment), mirror off, in one PUT,
        if the lock is still held."""
        held.check()
        split = {live: 100} if live else {}
        update_endpoint(
            self.conn.ml,
            self.endpoint_name,
            _all_traffic_to(split),
            lambda e: live_traffic(e) == split and not mirror_traffic(e),
        )

    def restore_until_read_back(self, live: str | None, held: HeldLock) -> None:
        """`restore`, made to hold after a takeover: once nothing is pending on the endpoint,
        applied until it reads back."""
        apply_until_read_back(_EndpointWrites(self), {live: 100} if live else {}, held)

    # -- history --------------------------------------------------------------------------------

    def history_tag(self, step: str, outcome: str, share: str, roles: Roles | None = None) -> str:
        """The release's summary tag (the record's, on the endpoint or the candidate) with this
        step added (see `rollout.release.history`)."""
        summary = (roles or self.roles()).history
        return history.tag_add(summary, step, outcome, share, history.now())

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


def _all_traffic_to(split: dict[str, int]) -> Callable[[OnlineEndpoint], None]:
    def change(endpoint: OnlineEndpoint) -> None:
        endpoint.traffic = {name: split.get(name, 0) for name in endpoint.traffic or {}} | split
        endpoint.mirror_traffic = {}

    return change


class _EndpointWrites:
    """The endpoint through the MLClient, as `apply_until_read_back` works with it."""

    def __init__(self, ctx: ReleaseContext) -> None:
        self.ctx, self.name = ctx, ctx.endpoint_name

    def busy(self) -> bool:
        return state_name(self.ctx.endpoint().provisioning_state) in PENDING_STATES

    def split(self) -> tuple[dict[str, int], dict[str, int]]:
        endpoint = self.ctx.endpoint()
        return live_traffic(endpoint), mirror_traffic(endpoint)

    def put_split(self, traffic: dict[str, int]) -> None:
        update_endpoint(self.ctx.conn.ml, self.name, _all_traffic_to(traffic), lambda _: True)


def split_of(endpoint: OnlineEndpoint) -> Split:
    """The endpoint's live and mirrored traffic."""
    return Split(live_traffic(endpoint), mirror_traffic(endpoint))
